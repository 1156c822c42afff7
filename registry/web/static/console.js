// The oral-mandate status page follows the request live (server-sent events) and says each change in
// its status region. Without JavaScript, reloading the page shows the same.
(function () {
  var box = document.getElementById("request-status");
  if (!box || !window.EventSource) { return; }
  var title = box.querySelector(".answer-title");
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("status", function (event) {
    var state = JSON.parse(event.data);
    var key = state.status === "declined" && state.reason === "not_me" ? "not_me" : state.status;
    title.textContent = box.getAttribute("data-text-" + key);
    title.setAttribute("data-status", state.status);
    box.className = "answer answer--" + state.status;
    if (state.reference) {
      var strong = document.createElement("strong");
      strong.className = "reference";
      strong.textContent = state.reference;
      title.appendChild(document.createTextNode(" "));
      title.appendChild(strong);
    }
    if (state.status !== "pending") { source.close(); }
  });
})();
