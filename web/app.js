// facematch page: sends two photos to POST /verify and draws what the server found.
// Plain browser JavaScript with no dependencies, so the binary can serve it and it works offline.
"use strict";

(() => {
  const FIELDS = ["img1", "img2"];
  const PHOTO_NAME = { img1: "photo 1", img2: "photo 2" };
  const form = document.getElementById("compare-form");
  const compareButton = document.getElementById("compare");
  const clearButton = document.getElementById("clear");
  const busy = document.getElementById("busy");
  const errorBox = document.getElementById("error");
  const result = document.getElementById("result");
  const keyInputs = document.querySelectorAll(".key-row");
  const keyInput = document.getElementById("opt-key");

  // Per photo: the chosen File, its object URL, and the server's analysis once there is one.
  const slots = {};
  for (const field of FIELDS) {
    const root = document.getElementById(`slot-${field}`);
    slots[field] = {
      field,
      root,
      drop: root.querySelector(".drop"),
      img: root.querySelector(".preview"),
      canvas: root.querySelector(".overlay"),
      placeholder: root.querySelector(".placeholder"),
      name: document.getElementById(`name-${field}`),
      note: document.getElementById(`note-${field}`),
      inputs: [document.getElementById(`file-${field}`), document.getElementById(`camera-${field}`)],
      file: null,
      url: null,
      analysis: null,
    };
  }

  const PLACEHOLDER = "Drop a photo here";

  function formatBytes(n) {
    if (n < 1024) return `${n} bytes`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
    return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  }

  function setNote(slot, text, problem) {
    slot.note.textContent = text || "";
    if (problem) slot.root.dataset.problem = "";
    else delete slot.root.dataset.problem;
  }

  function hideMessages() {
    errorBox.hidden = true;
    result.hidden = true;
  }

  function setFile(slot, file) {
    if (slot.url) URL.revokeObjectURL(slot.url);
    slot.file = file;
    slot.analysis = null;
    slot.url = file ? URL.createObjectURL(file) : null;
    setNote(slot, "", false);
    hideMessages();
    clearCanvas(slot);
    if (!file) {
      slot.img.hidden = true;
      slot.img.removeAttribute("src");
      slot.img.alt = "";
      slot.drop.dataset.state = "empty";
      slot.placeholder.textContent = PLACEHOLDER;
      slot.name.textContent = "";
      return;
    }
    slot.name.textContent = `${file.name || "photo"} (${formatBytes(file.size)})`;
    slot.img.alt = `${PHOTO_NAME[slot.field]}: ${file.name || "chosen photo"}`;
    slot.drop.dataset.state = "loading";
    slot.img.hidden = false;
    slot.img.src = slot.url;
  }

  for (const slot of Object.values(slots)) {
    slot.img.addEventListener("load", () => {
      slot.drop.dataset.state = "loaded";
      draw(slot);
    });
    // Some formats the server reads (TIFF, for one) have no preview in browsers; the server decides.
    slot.img.addEventListener("error", () => {
      if (!slot.file) return;
      slot.img.hidden = true;
      slot.drop.dataset.state = "unviewable";
      slot.placeholder.textContent = "No preview for this file. It may not be an image; Compare will tell.";
    });
    for (const input of slot.inputs) {
      input.addEventListener("change", () => {
        if (input.files && input.files.length) setFile(slot, input.files[0]);
        input.value = "";  // choosing the same file again still fires "change"
      });
    }
    // Drag and drop onto the whole photo card.
    const target = slot.root;
    target.addEventListener("dragenter", (e) => {
      e.preventDefault();
      slot.drop.classList.add("dragging");
    });
    target.addEventListener("dragover", (e) => {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    });
    target.addEventListener("dragleave", (e) => {
      if (!target.contains(e.relatedTarget)) slot.drop.classList.remove("dragging");
    });
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      slot.drop.classList.remove("dragging");
      const files = e.dataTransfer ? e.dataTransfer.files : null;
      if (!files || !files.length) return;
      setFile(slot, files[0]);
      // Two files dropped on one card: the second goes to the other card.
      if (files.length > 1) {
        const other = slots[slot.field === "img1" ? "img2" : "img1"];
        setFile(other, files[1]);
      }
    });
    new ResizeObserver(() => draw(slot)).observe(slot.img);
  }
  // A file dropped outside the cards would make the browser navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());

  // The 68-point layout (iBUG 300-W): jaw, brows, nose bridge, nostrils, eyes, outer and inner lips.
  const CONTOURS = [
    [0, 16, false], [17, 21, false], [22, 26, false], [27, 30, false], [31, 35, false],
    [36, 41, true], [42, 47, true], [48, 59, true], [60, 67, true],
  ];

  function clearCanvas(slot) {
    const ctx = slot.canvas.getContext("2d");
    ctx.clearRect(0, 0, slot.canvas.width, slot.canvas.height);
  }

  // Boxes and landmarks come in the server's image pixels (after EXIF orientation, as the browser shows
  // the photo), so one scale per axis maps them onto the displayed image.
  function draw(slot) {
    const { img, canvas, analysis } = slot;
    const cssW = img.clientWidth;
    const cssH = img.clientHeight;
    if (!cssW || !cssH) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    if (!analysis || !analysis.width || !analysis.height) return;
    const sx = cssW / analysis.width;
    const sy = cssH / analysis.height;
    const faces = analysis.faces || [];
    // Draw the chosen face last so it sits on top of overlapping ones.
    const order = faces.map((_, i) => i).filter((i) => i !== analysis.chosen_face);
    if (analysis.chosen_face >= 0 && analysis.chosen_face < faces.length) order.push(analysis.chosen_face);
    for (const i of order) {
      const face = faces[i];
      const chosen = i === analysis.chosen_face;
      const b = face.box;
      const x = b.x * sx, y = b.y * sy, w = b.w * sx, h = b.h * sy;
      // Dark outline under a light line: visible on bright and dark photos alike.
      ctx.lineJoin = "round";
      ctx.strokeStyle = "rgba(0,0,0,0.75)";
      ctx.lineWidth = chosen ? 5 : 3;
      ctx.strokeRect(x, y, w, h);
      ctx.strokeStyle = chosen ? "#ffd400" : "#ffffff";
      ctx.lineWidth = chosen ? 3 : 1.5;
      ctx.strokeRect(x, y, w, h);
      const r = Math.max(1.2, Math.min(3, w / 70));
      const lm = face.landmarks || [];
      if (chosen && lm.length === 68) {
        ctx.strokeStyle = "rgba(255,255,255,0.55)";
        ctx.lineWidth = 1;
        for (const [from, to, closed] of CONTOURS) {
          ctx.beginPath();
          for (let k = from; k <= to; k++) ctx.lineTo(lm[k][0] * sx, lm[k][1] * sy);
          if (closed) ctx.closePath();
          ctx.stroke();
        }
      }
      for (const [px, py] of lm) {
        ctx.beginPath();
        ctx.arc(px * sx, py * sy, r, 0, 2 * Math.PI);
        ctx.fillStyle = chosen ? "#00e5ff" : "rgba(255,255,255,0.85)";
        ctx.fill();
        ctx.lineWidth = 0.75;
        ctx.strokeStyle = "rgba(0,0,0,0.7)";
        ctx.stroke();
      }
    }
  }

  function capital(s) {
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  // Turns the server's {"error": {code, message, image}} into a sentence for people, and marks the photo
  // at fault (image names the form field: img1 or img2).
  function explain(status, code, message, image) {
    const field = Object.hasOwn(PHOTO_NAME, image || "") ? image : null;
    const which = field ? PHOTO_NAME[field] : null;
    const inPhoto = which ? ` in ${which}` : "";
    let title;
    let note = null;
    switch (code) {
      case "no_face":
        title = `No face found${inPhoto}.`;
        note = "No face found in this photo. Try one where the face is larger, lit and facing the camera.";
        break;
      case "too_many_faces":
        title = `More than one face${inPhoto}.`;
        note = "Several faces here: crop the photo, or set Options > several faces to the largest face.";
        break;
      case "low_quality":
        title = `The face${inPhoto} cannot be compared.`;
        note = message.replace(/^[^:]*: /, "");
        break;
      case "bad_image":
        title = which ? `${capital(which)} is not an image that can be read.` : "A file is not an image that can be read.";
        note = "Not a readable image. Use a JPEG, PNG, WebP or BMP photo.";
        break;
      case "image_too_large":
      case "body_too_large":
        title = which ? `${capital(which)} is too large.` : "The photos are too large.";
        note = "Too large: use a smaller photo (for example a phone photo, not a scan).";
        break;
      case "unsupported_media_type":
        title = "The server did not accept the upload format.";
        break;
      case "overloaded":
        title = "The server is busy. Try again in a few seconds.";
        break;
      case "unauthorized":
        title = "This server needs an API key. Enter it under Options, then press Compare again.";
        for (const el of keyInputs) el.hidden = false;
        document.querySelector(".options").open = true;
        break;
      case "bad_request":
        title = "The server did not accept the request.";
        break;
      case "not_found":
        title = "Not found on the server.";
        break;
      case "unavailable":
        title = "The gallery's database cannot be used right now. Try again later.";
        break;
      default:
        title = `Something went wrong on the server (HTTP ${status}).`;
    }
    return { title, field, note };
  }

  function authHeaders() {
    return keyInput.value ? { Authorization: `Bearer ${keyInput.value}` } : {};
  }

  function showError(title, detail) {
    errorBox.querySelector(".error-title").textContent = title;
    errorBox.querySelector(".error-detail").textContent = detail || "";
    errorBox.hidden = false;
    result.hidden = true;
  }

  function fmt(x, digits) {
    return Number.isFinite(x) ? x.toFixed(digits) : "?";
  }

  function showResult(data, roundTripMs) {
    const yes = data.match === "Yes" || data.verified === true;
    result.dataset.verdict = yes ? "yes" : "no";
    result.querySelector(".verdict-word").textContent = yes ? "Yes" : "No";
    result.querySelector(".verdict-text").textContent = yes ? "the same person" : "not the same person";

    const d = Number(data.distance);
    const t = Number(data.threshold);
    // The scale reaches past both values so the marker never sits on the edge.
    const max = Math.max(1, Math.ceil(Math.max(d, 1.6 * t) * 10 + 1) / 10);
    const pct = (v) => `${Math.min(100, Math.max(0, (100 * v) / max))}%`;
    result.querySelector(".gauge-same").style.width = pct(t);
    result.querySelector(".gauge-threshold").style.left = pct(t);
    result.querySelector(".gauge-threshold-value").textContent = fmt(t, 2);
    result.querySelector(".gauge-marker").style.left = pct(d);
    result.querySelector(".gauge-marker-value").textContent = fmt(d, 3);
    result.querySelector(".gauge-max").textContent = `different · ${max.toFixed(1)}`;
    document.getElementById("gauge").setAttribute(
      "aria-label",
      `Distance ${fmt(d, 3)} on a scale from 0 to ${max.toFixed(1)}; the threshold is ${fmt(t, 2)}, ` +
        `and a distance below it means the same person.`);

    const parts = [`Distance <b>${fmt(d, 3)}</b> ${d < t ? "is below" : "is not below"} the threshold ${fmt(t, 2)}`];
    if (Number.isFinite(data.similarity)) parts.push(`similarity ${Math.round(100 * data.similarity)}%`);
    const numbers = document.getElementById("numbers");
    numbers.innerHTML = parts.join(" · ");
    const details = [data.model, data.detector && `detector ${data.detector}`, data.align && `align ${data.align}`]
      .filter(Boolean)
      .join(", ");
    if (details) numbers.title = details;

    const serverMs = data.time_ms && Number(data.time_ms.total);
    document.getElementById("timing").textContent =
      (Number.isFinite(serverMs) ? `Took ${Math.round(serverMs)} ms on the server, ` : "Took ") +
      `${Math.round(roundTripMs)} ms in all (upload included).`;

    for (const field of FIELDS) {
      const slot = slots[field];
      const a = data[field];
      slot.analysis = a || null;
      if (a && a.faces) {
        const n = a.faces.length;
        let text;
        if (n === 1) text = "1 face found and compared.";
        else if (data.face_policy === "best_match" && field === "img2")
          text = `${n} faces found; the yellow one is the closest match and was compared.`;
        else text = `${n} faces found; the yellow one was compared.`;
        // Quality is advice: the verdict stands, but a poor face makes it less certain.
        const chosen = a.faces[a.chosen_face];
        const reasons = chosen && chosen.quality ? chosen.quality.reasons : [];
        if (reasons.length) text += ` Quality warning: ${reasons.join(", ").replace(/_/g, " ")}.`;
        setNote(slot, text, reasons.length > 0);
      }
      draw(slot);
    }
    errorBox.hidden = true;
    result.hidden = false;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideMessages();
    const missing = FIELDS.filter((f) => !slots[f].file);
    if (missing.length) {
      showError(
        missing.length === 2 ? "Choose two photos first." : `Choose ${PHOTO_NAME[missing[0]]} first.`,
        "");
      const first = slots[missing[0]].inputs[0];
      first.focus();
      return;
    }
    const body = new FormData();
    for (const field of FIELDS) {
      const slot = slots[field];
      slot.analysis = null;
      setNote(slot, "", false);
      draw(slot);
      body.append(field, slot.file, slot.file.name || `${field}.jpg`);
    }
    for (const el of form.querySelectorAll(".option-grid select, #opt-threshold")) {
      if (el.value !== "") body.append(el.name, el.value);
    }
    const headers = authHeaders();

    compareButton.disabled = true;
    busy.hidden = false;
    const started = performance.now();
    try {
      let response;
      try {
        response = await fetch("verify", { method: "POST", body, headers });
      } catch (err) {
        const size = slots.img1.file.size + slots.img2.file.size;
        showError(
          "Could not reach the facematch server.",
          size > 10 * 1024 * 1024
            ? `The two photos add up to ${formatBytes(size)}; the server may have refused them as too large.`
            : "Check that `facematch serve` is still running, then press Compare again.");
        return;
      }
      let data = null;
      try {
        data = await response.json();
      } catch (_) {
        data = null;
      }
      const elapsed = performance.now() - started;
      if (response.ok && data && (data.match === "Yes" || data.match === "No")) {
        showResult(data, elapsed);
        result.scrollIntoView({ behavior: "smooth", block: "nearest" });
        return;
      }
      const err = (data && data.error) || {};
      const code = err.code || (response.status === 413 ? "body_too_large" : "internal");
      const { title, field, note } = explain(response.status, code, err.message || "", err.image);
      if (field && note) setNote(slots[field], note, true);
      showError(title, err.message ? `Server said: ${err.message}` : "");
      errorBox.scrollIntoView({ behavior: "smooth", block: "nearest" });
    } finally {
      compareButton.disabled = false;
      busy.hidden = true;
    }
  });

  // ---- Gallery panel: POST subjects/{name}/faces, GET subjects, DELETE subjects/{name}, POST identify.
  const gallery = {
    panel: document.getElementById("gallery"),
    enrolForm: document.getElementById("enrol-form"),
    enrolName: document.getElementById("enrol-name"),
    enrolFile: document.getElementById("enrol-file"),
    enrolFileName: document.getElementById("enrol-file-name"),
    enrolButton: document.getElementById("enrol"),
    enrolStatus: document.getElementById("enrol-status"),
    identifyForm: document.getElementById("identify-form"),
    identifyFile: document.getElementById("identify-file"),
    identifyFileName: document.getElementById("identify-file-name"),
    identifyButton: document.getElementById("identify"),
    identifyStatus: document.getElementById("identify-status"),
    identifyResult: document.getElementById("identify-result"),
    subjects: document.getElementById("subjects"),
    subjectsTotal: document.getElementById("subjects-total"),
    subjectsStatus: document.getElementById("subjects-status"),
    refresh: document.getElementById("subjects-refresh"),
    files: { enrol: null, identify: null },
  };
  // The server's rule for names (valid_subject_name): checked here too, so a typo costs no upload.
  const SUBJECT_NAME = /^[A-Za-z0-9_\-@][A-Za-z0-9_.\-@]{0,127}$/;

  function setStatus(el, text, problem) {
    el.textContent = text || "";
    if (problem) el.dataset.problem = "";
    else delete el.dataset.problem;
  }

  // One gallery request: the parsed answer, or a sentence for people on failure.
  async function galleryFetch(url, init) {
    let response;
    try {
      response = await fetch(url, { ...init, headers: authHeaders() });
    } catch (_) {
      return { ok: false, message: "Could not reach the facematch server." };
    }
    if (response.status === 204) return { ok: true, data: null };
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (response.ok && data) return { ok: true, data };
    const err = (data && data.error) || {};
    const { title } = explain(response.status, err.code || "internal", err.message || "");
    return { ok: false, message: err.message ? `${title} Server said: ${err.message}` : title };
  }

  function pickInto(input, which, nameEl, statusEl) {
    input.addEventListener("change", () => {
      if (input.files && input.files.length) {
        const file = input.files[0];
        gallery.files[which] = file;
        nameEl.textContent = `${file.name || "photo"} (${formatBytes(file.size)})`;
        setStatus(statusEl, "", false);
      }
      input.value = "";
    });
  }
  pickInto(gallery.enrolFile, "enrol", gallery.enrolFileName, gallery.enrolStatus);
  pickInto(gallery.identifyFile, "identify", gallery.identifyFileName, gallery.identifyStatus);

  async function loadSubjects() {
    const r = await galleryFetch("subjects?limit=100", { method: "GET" });
    gallery.subjects.replaceChildren();
    if (!r.ok) {
      gallery.subjectsTotal.textContent = "";
      setStatus(gallery.subjectsStatus, r.message, true);
      return;
    }
    const { subjects, total } = r.data;
    gallery.subjectsTotal.textContent = `(${total})`;
    for (const s of subjects) {
      const li = document.createElement("li");
      li.dataset.subject = s.subject;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = s.subject;
      const faces = document.createElement("span");
      faces.className = "faces";
      faces.textContent = s.faces === 1 ? " 1 face" : ` ${s.faces} faces`;
      name.append(faces);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete ${s.subject}`);
      remove.addEventListener("click", () => deleteSubject(s.subject, remove));
      li.append(name, remove);
      gallery.subjects.append(li);
    }
    const more = total > subjects.length ? ` Showing the first ${subjects.length}.` : "";
    setStatus(gallery.subjectsStatus, total === 0 ? "Nobody is enrolled yet." : more.trim(), false);
  }

  async function deleteSubject(subject, button) {
    if (!window.confirm(`Delete ${subject} and every face enrolled under that name?`)) return;
    button.disabled = true;
    const r = await galleryFetch(`subjects/${encodeURIComponent(subject)}`, { method: "DELETE" });
    if (!r.ok) {
      button.disabled = false;
      setStatus(gallery.subjectsStatus, r.message, true);
      return;
    }
    await loadSubjects();
    setStatus(gallery.subjectsStatus, `Deleted ${subject}.`, false);
  }

  gallery.panel.addEventListener("toggle", () => {
    if (gallery.panel.open) loadSubjects();
  });
  gallery.refresh.addEventListener("click", loadSubjects);

  // POSTs the chosen photo as multipart `img` with the button disabled meanwhile; the answer, or null
  // after saying in `status` what went wrong.
  async function sendPhoto(url, { file, button, status, missing, busy: busyText }) {
    if (!file) {
      setStatus(status, missing, true);
      return null;
    }
    const body = new FormData();
    body.append("img", file, file.name || "photo.jpg");
    button.disabled = true;
    setStatus(status, busyText, false);
    try {
      const r = await galleryFetch(url, { method: "POST", body });
      if (r.ok) return r.data;
      setStatus(status, r.message, true);
      return null;
    } finally {
      button.disabled = false;
    }
  }

  gallery.enrolForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const subject = gallery.enrolName.value.trim();
    if (!SUBJECT_NAME.test(subject)) {
      setStatus(gallery.enrolStatus,
        "Enter a name of letters, digits and _ - . @ (up to 128, not starting with a dot).", true);
      gallery.enrolName.focus();
      return;
    }
    const data = await sendPhoto(`subjects/${encodeURIComponent(subject)}/faces`, {
      file: gallery.files.enrol,
      button: gallery.enrolButton,
      status: gallery.enrolStatus,
      missing: "Choose a photo to enrol first.",
      busy: "Enrolling…",
    });
    if (!data) return;
    const extra = data.faces_in_photo > 1 ? ` (the largest of ${data.faces_in_photo} faces)` : "";
    setStatus(gallery.enrolStatus, `Enrolled a face of ${data.subject}${extra}.`, false);
    gallery.files.enrol = null;
    gallery.enrolFileName.textContent = "";
    await loadSubjects();
  });

  function showIdentification(data) {
    const box = gallery.identifyResult;
    const yes = typeof data.identified === "string";
    box.dataset.verdict = yes ? "yes" : "no";
    box.querySelector(".identify-verdict").textContent = yes
      ? `This is ${data.identified}.`
      : data.candidates.length ? "Nobody enrolled matches." : "Nobody is enrolled yet.";
    const list = box.querySelector(".candidates");
    list.replaceChildren();
    for (const c of data.candidates) {
      const li = document.createElement("li");
      li.textContent = `${c.subject} `;
      if (yes && c.subject === data.identified) li.dataset.identified = "";
      const d = document.createElement("span");
      d.className = "distance";
      d.textContent = `distance ${fmt(c.distance, 3)}, similarity ${Math.round(100 * c.similarity)}%`;
      li.append(d);
      list.append(li);
    }
    const point = data.operating_point && data.operating_point.name;
    box.querySelector(".identify-note").textContent =
      `Same person when the distance is below ${fmt(data.threshold, 3)}` +
      (point && point !== "custom" ? ` (operating point ${point})` : "") +
      `; searched ${data.gallery_size} ${data.gallery_size === 1 ? "person" : "people"}, ` +
      `${data.gallery_faces} ${data.gallery_faces === 1 ? "face" : "faces"}.`;
    box.hidden = false;
  }

  gallery.identifyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    gallery.identifyResult.hidden = true;
    const data = await sendPhoto("identify", {
      file: gallery.files.identify,
      button: gallery.identifyButton,
      status: gallery.identifyStatus,
      missing: "Choose a photo to identify first.",
      busy: "Searching…",
    });
    if (data) {
      setStatus(gallery.identifyStatus, "", false);
      showIdentification(data);
    }
  });

  clearButton.addEventListener("click", () => {
    for (const slot of Object.values(slots)) setFile(slot, null);
    hideMessages();
    slots.img1.inputs[0].focus();
  });
})();
