// The customer's signature on the service report (issue #19): drawn with a finger or a mouse on
// the canvas, sent as a PNG data URL with the typed name. Without this script the form still
// works with the typed name alone.
(function () {
  var canvas = document.getElementById("signature-pad");
  var field = document.getElementById("signature");
  var form = document.getElementById("signoff-form");
  if (!canvas || !field || !form || !canvas.getContext) { return; }
  canvas.parentNode.hidden = false;
  var ctx = canvas.getContext("2d");
  ctx.lineWidth = 2.5;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#102a43";
  var drawing = false, drawn = false;
  function at(e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
  }
  canvas.addEventListener("pointerdown", function (e) {
    drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p.x, p.y);
    try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a pointer the browser no longer tracks */ }
    e.preventDefault();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) { return; }
    var p = at(e); ctx.lineTo(p.x, p.y); ctx.stroke(); drawn = true; e.preventDefault();
  });
  function stop() { drawing = false; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  document.getElementById("signature-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = "";
  });
  form.addEventListener("submit", function () {
    field.value = drawn ? canvas.toDataURL("image/png") : "";
  });
})();
