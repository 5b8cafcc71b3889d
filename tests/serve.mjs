// `facematch serve --port 0` for the node tests (tests/web, tests/openapi): starts the binary, waits for
// its "listening on" line and for /readyz, and stops it with SIGTERM.
import { spawn } from "node:child_process";

export const TIMEOUT_MS = 60_000;

export async function startServer(bin, extraArgs = [], extraEnv = {}) {
  const proc = spawn(bin, ["serve", "--port", "0", "--log-level", "warn", ...extraArgs], {
    env: { ...process.env, OMP_NUM_THREADS: "1", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'facematch listening on' line in ${TIMEOUT_MS} ms; stderr:\n${stderr}`)), TIMEOUT_MS);
    proc.stdout.on("data", (d) => {
      stdout += d;
      const m = /facematch listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ""));
      }
    });
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${bin} serve exited (${code ?? signal}) before listening; stderr:\n${stderr}`));
    });
  });
  // Inference requests get 503 until the warm-up inference has run, so wait for /readyz.
  let exited = null;
  proc.on("exit", (code, signal) => (exited = code ?? signal));
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    if (exited !== null) throw new Error(`${bin} serve exited (${exited}) before it was ready; stderr:\n${stderr}`);
    const r = await fetch(`${url}/readyz`).catch(() => null);
    if (r && r.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${url}/readyz not 200 after ${TIMEOUT_MS} ms; stderr:\n${stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return { proc, url, stderr: () => stderr };
}

export async function stopServer(server) {
  if (!server || server.proc.exitCode !== null) return;
  const exited = new Promise((res) => server.proc.on("exit", res));
  server.proc.kill("SIGTERM");
  await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
  if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
}
