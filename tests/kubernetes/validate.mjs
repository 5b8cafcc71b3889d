// Offline checks of the rendered Kubernetes manifests (tests/kubernetes/run.sh): every object against
// the Kubernetes API schemas (npm kubernetes-models), then what matters for facematch: probes on the
// right paths and port, CPU requests matching the workers, memory with its margins over the measured
// peaks, the grace period outlasting the drain, the Secret references, Prometheus annotations, the selectors of the Service, HPA and PDB, and every
// FACEMATCH_* variable known to the binary. Then the same checks must refuse broken copies.
//
//   node validate.mjs RENDERED.yaml FACEMATCH_BINARY
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";

const [rendered, binary] = process.argv.slice(2);
const objects = parseAllDocuments(readFileSync(rendered, "utf8")).map((d) => d.toJS()).filter(Boolean);
// kubectl kustomize wraps long base64 values over lines; the API server's decoder skips line breaks, the
// schema's "byte" format does not.
for (const o of objects) {
  if (o.kind === "Secret" && o.data) for (const k of Object.keys(o.data)) o.data[k] = o.data[k].replace(/\s+/g, "");
}
const serveVariables = new Set(execFileSync(binary, ["serve", "--help"], { encoding: "utf8" }).match(/FACEMATCH_[A-Z0-9_]+/g));

async function validateSchema(object) {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : [null, object.apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${object.kind}` : `kubernetes-models/${version}/${object.kind}`;
  const module = await import(path);
  new module[object.kind](object).validate();  // throws with the schema violation
}

function one(list, kind) {
  const found = list.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0];
}

// What bench/memory.sh measured for the Deployment's settings (docs/deployment.md, Memory): the highest
// peak resident size under a sustained load and when every server thread holds a phone-photo request.
// The request keeps 15% over the first, the limit 25% over the second.
const measuredMemory = { workers: 2, queue: 64, sustainedMiB: 885, burstMiB: 1390 };

// A Kubernetes memory quantity in MiB (the suffixes a manifest uses for memory).
function mebibytes(quantity) {
  const m = String(quantity).match(/^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  assert.ok(m, `memory quantity ${quantity}`);
  const factor = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return (Number(m[1]) * factor) / 2 ** 20;
}

function matches(selector, labels) {
  return Object.entries(selector.matchLabels ?? selector).every(([k, v]) => labels[k] === v);
}

function checkFacematch(list) {
  const deployment = one(list, "Deployment");
  const pod = deployment.spec.template;
  const container = pod.spec.containers.find((c) => c.name === "facematch");
  assert.ok(container, "a container named facematch");
  const http = container.ports.find((p) => p.name === "http");
  assert.equal(http?.containerPort, 8080, "port http is 8080 (FACEMATCH_PORT in the image)");
  const env = Object.fromEntries(container.env.map((e) => [e.name, e]));
  for (const name of Object.keys(env)) {
    assert.ok(serveVariables.has(name), `${name} is an environment variable of facematch serve`);
  }

  const probe = (p, path, what) => {
    assert.ok(p?.httpGet, `${what} probe is an HTTP GET`);
    assert.equal(p.httpGet.path, path, `${what} probe path`);
    assert.ok(p.httpGet.port === "http" || p.httpGet.port === http.containerPort, `${what} probe port`);
  };
  probe(container.readinessProbe, "/readyz", "readiness");
  probe(container.livenessProbe, "/healthz", "liveness");
  probe(container.startupProbe, "/readyz", "startup");
  const startupSeconds = container.startupProbe.periodSeconds * container.startupProbe.failureThreshold;
  assert.ok(startupSeconds >= 60, `the startup probe waits ${startupSeconds} s for the warm-up (>= 60)`);

  const workers = Number(env.FACEMATCH_WORKERS?.value);
  assert.ok(workers > 0, "FACEMATCH_WORKERS is set");
  const cpu = String(container.resources.requests.cpu);
  const cores = cpu.endsWith("m") ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
  assert.equal(cores, workers, "requests.cpu equals FACEMATCH_WORKERS");
  assert.ok(container.resources.requests.memory, "a memory request");
  assert.ok(container.resources.limits?.memory, "a memory limit");
  const memoryRequest = mebibytes(container.resources.requests.memory);
  const memoryLimit = mebibytes(container.resources.limits.memory);
  assert.ok(memoryLimit >= memoryRequest, "limits.memory is at least requests.memory");
  // The figures hold for the measured settings only; other workers or queue lengths need their own run.
  const queue = Number(env.FACEMATCH_QUEUE?.value ?? 64);
  if (workers === measuredMemory.workers && queue === measuredMemory.queue) {
    assert.ok(memoryRequest >= 1.15 * measuredMemory.sustainedMiB,
      `requests.memory ${memoryRequest} Mi is 1.15 x the measured sustained peak ${measuredMemory.sustainedMiB} MiB`);
    assert.ok(memoryLimit >= 1.25 * measuredMemory.burstMiB,
      `limits.memory ${memoryLimit} Mi is 1.25 x the measured burst peak ${measuredMemory.burstMiB} MiB`);
  }

  // The drain (FACEMATCH_DRAIN_DELAY) then in-flight requests (read + write timeouts, 10 s each).
  const drain = Number(env.FACEMATCH_DRAIN_DELAY?.value ?? 0);
  assert.ok(drain > 0, "FACEMATCH_DRAIN_DELAY is set: the pod serves on while endpoints drop it");
  assert.ok(pod.spec.terminationGracePeriodSeconds > drain + 20,
    `terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds} outlasts the drain ${drain} s + 20 s of requests`);

  const secrets = list.filter((o) => o.kind === "Secret");
  for (const [name, key] of [["FACEMATCH_GALLERY", "gallery-dsn"], ["FACEMATCH_API_KEYS", "api-keys"]]) {
    const ref = env[name]?.valueFrom?.secretKeyRef;
    assert.ok(ref, `${name} comes from a Secret`);
    assert.equal(ref.key, key, `${name} key`);
    const secret = secrets.find((s) => s.metadata.name === ref.name);
    assert.ok(secret, `the Secret ${ref.name} that ${name} names is rendered`);
    assert.ok(key in (secret.data ?? {}) || key in (secret.stringData ?? {}), `Secret ${ref.name} holds ${key}`);
  }
  if (env.FACEMATCH_GALLERY) {
    const secret = secrets.find((s) => s.metadata.name === env.FACEMATCH_GALLERY.valueFrom.secretKeyRef.name);
    const dsn = secret.data ? Buffer.from(secret.data["gallery-dsn"], "base64").toString() : secret.stringData["gallery-dsn"];
    assert.match(dsn, /^postgres(ql)?:\/\//, "the gallery is PostgreSQL (shared by the replicas)");
  }

  const a = pod.metadata.annotations ?? {};
  assert.equal(a["prometheus.io/scrape"], "true", "Prometheus scrapes the pods");
  assert.equal(a["prometheus.io/path"], "/metrics", "Prometheus path");
  assert.equal(Number(a["prometheus.io/port"]), http.containerPort, "Prometheus port");

  assert.equal(pod.spec.securityContext?.runAsNonRoot, true, "runs as non-root");
  assert.equal(pod.spec.securityContext?.runAsUser, 10001, "the image's user facematch (uid 10001)");
  assert.equal(deployment.spec.strategy?.rollingUpdate?.maxUnavailable, 0, "a rollout takes no replica away first");

  const labels = pod.metadata.labels;
  const service = one(list, "Service");
  assert.ok(matches(service.spec.selector, labels), "the Service selects the pods");
  assert.ok(service.spec.ports.some((p) => p.targetPort === "http" || p.targetPort === http.containerPort),
    "the Service targets port http");
  const hpa = one(list, "HorizontalPodAutoscaler");
  assert.equal(hpa.spec.scaleTargetRef.kind, "Deployment");
  assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name, "the HPA scales the Deployment");
  assert.ok(hpa.spec.metrics.some((m) => m.type === "Resource" && m.resource.name === "cpu"), "the HPA scales on CPU");
  const pdb = one(list, "PodDisruptionBudget");
  assert.ok(matches(pdb.spec.selector, labels), "the PDB selects the pods");
  const allowedDown = pdb.spec.maxUnavailable ?? hpa.spec.minReplicas - pdb.spec.minAvailable;
  assert.ok(allowedDown >= 1 && allowedDown < hpa.spec.minReplicas, "the PDB lets one pod go, never all");
}

for (const object of objects) await validateSchema(object);
checkFacematch(objects);
console.log(`kubernetes: ${objects.length} objects valid (${objects.map((o) => o.kind).join(", ")}); facematch checks pass`);

// The checks must refuse what they are there for: each broken copy has to fail.
const broken = {
  "readiness on /healthz": (l) => { one(l, "Deployment").spec.template.spec.containers[0].readinessProbe.httpGet.path = "/healthz"; },
  "probe on another port": (l) => { one(l, "Deployment").spec.template.spec.containers[0].livenessProbe.httpGet.port = 9090; },
  "CPU request not the workers": (l) => { one(l, "Deployment").spec.template.spec.containers[0].resources.requests.cpu = "1"; },
  "memory limit without its margin over the burst peak": (l) => { one(l, "Deployment").spec.template.spec.containers[0].resources.limits.memory = "1536Mi"; },
  "memory request without its margin over the sustained peak": (l) => { one(l, "Deployment").spec.template.spec.containers[0].resources.requests.memory = "768Mi"; },
  "memory limit below the request": (l) => { one(l, "Deployment").spec.template.spec.containers[0].resources.requests.memory = "2Gi"; },
  "grace period shorter than the drain": (l) => { one(l, "Deployment").spec.template.spec.terminationGracePeriodSeconds = 10; },
  "Secret reference to nothing": (l) => { one(l, "Deployment").spec.template.spec.containers[0].env.find((e) => e.name === "FACEMATCH_GALLERY").valueFrom.secretKeyRef.name = "missing"; },
  "unknown variable": (l) => { one(l, "Deployment").spec.template.spec.containers[0].env.push({ name: "FACEMATCH_WORKER", value: "2" }); },
};
for (const [what, breakIt] of Object.entries(broken)) {
  const copy = structuredClone(objects);
  breakIt(copy);
  assert.throws(() => checkFacematch(copy), undefined, `the checks accepted a manifest with ${what}`);
}
const badSchema = structuredClone(one(objects, "Deployment"));
badSchema.spec.replicas = "three";
await assert.rejects(validateSchema(badSchema), undefined, "the schema accepted replicas: \"three\"");
console.log(`kubernetes: ${Object.keys(broken).length + 1} broken copies refused`);
