// Press and hold to send: a button fires `onSend(kind)` only after HOLD_MS of continuous
// pressing (pointer, or Space/Enter held down), so a pocket press or a short tap sends
// nothing. `onShort(kind)` is told of a press let go too soon.

export const HOLD_MS = 1500;

export function holdToSend(button, { onSend, onShort }) {
  let timer = null;
  const kind = button.dataset.kind;

  const start = (event) => {
    if (timer !== null) return;
    event.preventDefault();
    button.classList.add("holding");
    timer = setTimeout(() => {
      timer = null;
      button.classList.remove("holding");
      onSend(kind);
    }, HOLD_MS);
  };
  const stop = () => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    button.classList.remove("holding");
    onShort(kind);
  };

  button.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    button.setPointerCapture?.(event.pointerId);
    start(event);
  });
  button.addEventListener("pointerup", stop);
  button.addEventListener("pointercancel", stop);
  button.addEventListener("lostpointercapture", stop);
  button.addEventListener("contextmenu", (event) => event.preventDefault()); // long press on phones
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) start(event);
    else if (event.key === " " || event.key === "Enter") event.preventDefault();
  });
  button.addEventListener("keyup", (event) => {
    if (event.key === " " || event.key === "Enter") stop();
  });
  button.addEventListener("blur", stop);
  // A click (what a short tap also produces) must never send: only the timer does.
  button.addEventListener("click", (event) => event.preventDefault());
}
