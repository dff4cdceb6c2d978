// optlib offline slider player (appended to figure_core.js): moves a slider cell's figure in a
// static page (reveal.js deck, website) from the table its notebook stored. No kernel, no server,
// no network: every frame was computed by optlib when the notebook ran.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function key(idx) { return idx.join(","); }

  function init(root) {
    if (root._optlib) return;
    var table = JSON.parse(root.querySelector("script[type='application/json']").textContent);
    var idx = table.controls.map(function (c) { return c.default; });
    var layerImages = table.layers.map(function () { return null; });
    var controlsBox = el("div", "optlib-controls");
    var canvas = el("canvas", "optlib-figure-canvas");
    canvas.style.display = "block";
    var readout = el("code", "optlib-figure-readout");
    readout.style.display = "block";
    readout.style.whiteSpace = "pre-wrap";
    readout.style.marginTop = "4px";
    var note = el("div", "optlib-note");
    note.style.fontSize = "80%"; note.style.color = "#666";
    var state = {frame: 0, scene: null, values: null, key: null};
    root._optlib = state;
    var painter = new optlibFigure.Painter(canvas, function (scene) {
      readout.textContent = scene.readout || "";
      state.scene = scene; state.frame += 1;
      root.setAttribute("data-optlib-frame", String(state.frame));
    });
    var inputs = [];

    table.controls.forEach(function (c, n) {
      var row = el("div", "optlib-control");
      row.style.display = "flex"; row.style.alignItems = "center"; row.style.gap = "8px";
      row.style.margin = "2px 0";
      var label = el("label", "optlib-label", c.label);
      label.style.minWidth = "130px"; label.style.textAlign = "right"; label.style.flex = "none";
      label.style.whiteSpace = "nowrap";
      var input, out = el("span", "optlib-readout");
      var id = "optlib-" + Math.random().toString(36).slice(2);
      label.htmlFor = id;
      if (c.kind === "checkbox") {
        input = el("input"); input.type = "checkbox"; input.checked = !!c.values[c.default];
        input.addEventListener("change", function () { move(n, input.checked ? 1 : 0); });
      } else if (c.kind === "slider") {
        input = el("input"); input.type = "range"; input.min = "0"; input.max = String(c.values.length - 1);
        input.step = "1"; input.value = String(c.default); input.style.width = "260px";
        input.setAttribute("aria-valuetext", c.labels[c.default]);
        input.addEventListener("input", function () { move(n, parseInt(input.value, 10)); });
      } else {
        input = el("span", null, c.labels[0]);
      }
      input.id = id;
      input.className = "optlib-input";
      out.textContent = c.kind === "checkbox" ? "" : c.labels[c.default];
      row.append(label, input, out);
      controlsBox.append(row);
      inputs.push({input: input, out: out});
    });

    function layers(i) {
      if (!layerImages[i]) {
        var l = table.layers[i];
        layerImages[i] = [optlibFigure.loadImage(optlibFigure.pngSrc(l[0])),
                          l[1] ? optlibFigure.loadImage(optlibFigure.pngSrc(l[1])) : Promise.resolve(null)];
      }
      return layerImages[i];
    }

    function show() {
      var k = key(idx);
      var f = table.frames[k];
      var values = {};
      table.controls.forEach(function (c, n) { values[c.name] = c.values[idx[n]]; });
      var scene = {w: table.w, h: table.h, readout: f.readout, values: values,
                   items: f.items.map(function (i) { return table.items[i]; })};
      state.values = values; state.key = k;
      var l = layers(f.layers);
      painter.setLayers(l[0], l[1]);
      return painter.show(scene);
    }

    function sync() {
      table.controls.forEach(function (c, n) {
        var io = inputs[n];
        if (c.kind === "checkbox") io.input.checked = !!c.values[idx[n]];
        else if (c.kind === "slider") {
          io.input.value = String(idx[n]);
          io.input.setAttribute("aria-valuetext", c.labels[idx[n]]);
          io.out.textContent = c.labels[idx[n]];
        }
      });
    }

    function move(n, i) {
      idx[n] = i;
      if (!table.frames[key(idx)]) {
        // Stored one control at a time: the others go back to their defaults.
        table.controls.forEach(function (c, m) { if (m !== n) idx[m] = c.default; });
        note.textContent = "Without a kernel this figure moves one slider at a time " +
          "(the others went back to their defaults).";
      }
      sync();
      show();
    }

    root.innerHTML = "";
    root.append(controlsBox, canvas, readout, note);
    if (!table.full) note.textContent = "Precomputed figure: one slider at a time; run the notebook for every value.";
    sync();
    show();
  }

  function initAll() {
    var roots = document.querySelectorAll(".optlib-slider");
    for (var i = 0; i < roots.length; i++) init(roots[i]);
  }

  window.optlibSliders = {init: init, initAll: initAll};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
