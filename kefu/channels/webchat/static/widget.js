// kefu web chat widget. On any page:
//   <script src="https://KEFU-HOST/webchat/widget.js" data-key="WIDGET-KEY" async></script>
// Adds a chat button; the chat itself runs in an iframe served by kefu (no third-party code,
// nothing shared with the host page). Optional: data-label="在线客服", data-lang="en".
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.key || window.__kefuChatLoaded) return;
  window.__kefuChatLoaded = true;
  var origin = new URL(script.src, location.href).origin;
  var url = origin + "/chat/" + encodeURIComponent(script.dataset.key) + "?embed=1" +
    (script.dataset.lang ? "&lang=" + encodeURIComponent(script.dataset.lang) : "");
  var label = script.dataset.label || (String(navigator.language).indexOf("zh") === 0 ? "在线客服" : "Chat with us");

  var button = document.createElement("button");
  button.type = "button";
  button.id = "kefu-chat-button";
  button.textContent = "💬 " + label;
  button.setAttribute("style", "position:fixed;right:20px;bottom:20px;z-index:2147483646;padding:10px 16px;" +
    "border:0;border-radius:22px;background:#0b6bcb;color:#fff;font:14px sans-serif;cursor:pointer;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.25)");

  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "kefu-chat-frame";
      frame.title = label;
      frame.src = url;
      frame.setAttribute("style", "position:fixed;right:20px;bottom:76px;z-index:2147483647;width:380px;" +
        "height:560px;max-height:calc(100vh - 96px);max-width:calc(100vw - 40px);border:1px solid #dde3ea;" +
        "border-radius:10px;background:#fff;box-shadow:0 4px 16px rgba(0,0,0,.2)");
      document.body.appendChild(frame);
      return;
    }
    frame.style.display = frame.style.display === "none" ? "block" : "none";
  });
  document.body.appendChild(button);
})();
