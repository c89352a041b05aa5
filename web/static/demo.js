// The demo host: asks this server for a session, embeds the room, lists its lifecycle events.
const frame = document.getElementById("room");
const events = document.getElementById("events");

function log(text) {
  const entry = document.createElement("li");
  entry.textContent = text;
  events.append(entry);
}

window.addEventListener("message", (event) => {
  if (event.origin !== location.origin || !event.data || event.data.source !== "viva-interview") return;
  log(JSON.stringify(event.data));
});

document.getElementById("new-session").addEventListener("click", async () => {
  const response = await fetch("/demo/sessions", { method: "POST" });
  const body = await response.json();
  if (!response.ok) {
    log(`could not create a session: ${body.error ? body.error.message : response.status}`);
    return;
  }
  frame.src = body.embed_url;
  frame.hidden = false;
});
