// Live camera views for the selected alert: the cameras covering its room first, then the
// others on its floor. Each plays over WHEP (RFC 9725) with the browser's own WebRTC: a view
// token from /v1/cameras/{id}/view-token, an SDP offer POSTed to the camera's WHEP URL, the
// answer applied; DELETE on the session's Location when the view closes. No library, no CDN.

const MAX_VIEWS = 4;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function iceGathered(pc, ms = 2000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); } };
    const timer = setTimeout(resolve, ms);  // send what we have: alertd needs no more
    pc.addEventListener("icegatheringstatechange", done);
  });
}

class CameraView {
  constructor(api, camera, { coversRoom }) {
    this.api = api;
    this.camera = camera;
    this.pc = null;
    this.location = null;
    this.video = el("video", { muted: "", autoplay: "", playsinline: "", "aria-label": `Live video: ${camera.name}` });
    this.video.muted = true;
    this.status = el("p", { class: "camera-status", role: "status" }, "Connecting…");
    this.node = el("figure", { class: "camera-view", "data-camera-id": camera.id, "data-state": "connecting" },
      this.video,
      el("figcaption", {}, camera.name, coversRoom ? el("span", { class: "covers" }, " · covers this room") : null),
      this.status);
  }

  setState(state, text) {
    this.node.dataset.state = state;
    this.status.textContent = text;
  }

  async start() {
    if (!this.camera.viewable) {
      this.setState("unavailable", this.camera.source_kind ? "You may not view this camera." : "No video source registered.");
      return;
    }
    if (this.camera.online === false) this.setState("offline", "Camera offline — alertd is retrying.");
    try {
      const grant = await this.api.post(this.camera.view_token_url);
      const pc = this.pc = new RTCPeerConnection({ iceServers: [] });
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addEventListener("track", (event) => {
        this.video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
        this.video.play().catch(() => {});
      });
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "connected" && this.node.dataset.state !== "offline") this.setState("live", "Live");
        if (pc.connectionState === "failed") this.setState("offline", "Video connection lost.");
      });
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc);
      const answer = await fetch(grant.whep_url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${grant.token}` },
        body: pc.localDescription.sdp,
      });
      if (answer.status !== 201) throw new Error(`the camera refused the view (${answer.status})`);
      this.location = answer.headers.get("Location");
      await pc.setRemoteDescription({ type: "answer", sdp: await answer.text() });
    } catch (error) {
      this.setState("offline", `No video: ${error.message}`);
    }
  }

  health(online) {
    if (online) this.setState(this.pc?.connectionState === "connected" ? "live" : "connecting", online ? "Live" : "");
    else this.setState("offline", "Camera offline — alertd is retrying.");
  }

  stop() {
    if (this.location) fetch(this.location, { method: "DELETE" }).catch(() => {});
    this.location = null;
    this.pc?.close();
    this.pc = null;
    this.video.srcObject = null;
  }
}

export class CameraPanel {
  constructor(api, container) {
    this.api = api;
    this.container = container;
    this.key = null;
    this.views = new Map();
  }

  // Show the cameras for an alert's room (null: none). Re-showing the same room keeps the
  // players as they are.
  async show(schoolId, roomId, floorId) {
    const key = schoolId ? `${schoolId}/${roomId ?? ""}` : null;
    if (key === this.key) return;
    this.clear();
    this.key = key;
    if (!schoolId) return;
    let cameras;
    try {
      const query = new URLSearchParams({ school_id: schoolId, ...(roomId ? { room_id: roomId } : {}) });
      cameras = (await this.api.get(`/v1/cameras?${query}`)).cameras;
    } catch {
      return;
    }
    if (this.key !== key) return;
    const near = cameras.filter((c) => c.covers_room || (floorId && c.floor_id === floorId));
    const chosen = (near.length ? near : cameras).slice(0, MAX_VIEWS);
    if (!chosen.length) return;
    const list = el("div", { class: "camera-grid" });
    for (const camera of chosen) {
      const view = new CameraView(this.api, camera, { coversRoom: camera.covers_room });
      this.views.set(camera.id, view);
      list.append(view.node);
    }
    this.container.replaceChildren(el("h3", {}, "Cameras"), list);
    this.container.hidden = false;
    for (const view of this.views.values()) view.start();
  }

  // A CameraOffline / CameraOnline notice from the stream.
  health(cameraId, online) {
    this.views.get(cameraId)?.health(online);
  }

  focus(cameraId) {
    this.views.get(cameraId)?.node.scrollIntoView({ block: "nearest" });
  }

  clear() {
    for (const view of this.views.values()) view.stop();
    this.views.clear();
    this.key = null;
    this.container.replaceChildren();
    this.container.hidden = true;
  }
}
