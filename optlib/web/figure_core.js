// optlib figure drawing, shared by the JupyterLab widget and the offline slider player.
// A scene (optlib/figure_scene.py) is: a background PNG, an overlay PNG and moving items
// (polylines with markers, filled outlines such as bars, and PNG sprites of texts and
// legends) in figure pixels, y pointing down. Python computes every number; this file
// only paints.
/* eslint-disable no-var */
var optlibFigure = (function () {
  "use strict";
  var imageCache = new Map();

  function loadImage(src) {
    // src: a data: URL, or a Blob for PNG bytes; resolves to a decoded image.
    var key = typeof src === "string" ? src : null;
    if (key !== null && imageCache.has(key)) return imageCache.get(key);
    var url = typeof src === "string" ? src : URL.createObjectURL(src);
    var p = new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { resolve(null); };
      img.src = url;
    });
    if (key !== null) {
      if (imageCache.size > 600) imageCache.clear();
      imageCache.set(key, p);
    }
    return p;
  }

  // "i2:<base64>" (int16) or "i4:<base64>" (int32) tenths of a pixel -> Float64Array of pixels
  function decodeXY(s) {
    var kind = s.slice(0, 2), bin = atob(s.slice(3)), n = bin.length, u = new Uint8Array(n);
    for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i);
    var dv = new DataView(u.buffer), size = kind === "i4" ? 4 : 2, out = new Float64Array(n / size);
    for (var j = 0; j < out.length; j++) {
      out[j] = (size === 4 ? dv.getInt32(j * 4, true) : dv.getInt16(j * 2, true)) / 10;
    }
    return out;
  }

  function pngSrc(b64) { return "data:image/png;base64," + b64; }

  function markerPath(spec) {
    var p = new Path2D(), v = spec, i = 0;
    while (i < v.length) {
      var c = v[i][0];
      if (c === 1) { p.moveTo(v[i][1], v[i][2]); i += 1; }
      else if (c === 2) { p.lineTo(v[i][1], v[i][2]); i += 1; }
      else if (c === 3) { p.quadraticCurveTo(v[i][1], v[i][2], v[i + 1][1], v[i + 1][2]); i += 2; }
      else if (c === 4) { p.bezierCurveTo(v[i][1], v[i][2], v[i + 1][1], v[i + 1][2], v[i + 2][1], v[i + 2][2]); i += 3; }
      else if (c === 79) { p.closePath(); i += 1; }
      else { i += 1; }
    }
    return p;
  }

  // Clip to the item's box, then trace its polylines (closed ones for a patch) as the current path.
  function clipAndTrace(ctx, it, closed) {
    if (it.clip) { ctx.beginPath(); ctx.rect(it.clip[0], it.clip[1], it.clip[2], it.clip[3]); ctx.clip(); }
    if (!it._xy) it._xy = it.xy.map(decodeXY);
    ctx.beginPath();
    for (var s = 0; s < it._xy.length; s++) {
      var xy = it._xy[s];
      ctx.moveTo(xy[0], xy[1]);
      for (var k = 2; k < xy.length; k += 2) ctx.lineTo(xy[k], xy[k + 1]);
      if (closed) ctx.closePath();
    }
  }

  function drawLine(ctx, it) {
    ctx.save();
    clipAndTrace(ctx, it, false);
    if (it._xy.length) {
      ctx.strokeStyle = it.c; ctx.lineWidth = it.lw; ctx.lineCap = it.cap;
      ctx.lineJoin = it.join === "projecting" ? "miter" : it.join;
      ctx.setLineDash(it.dash || []); ctx.lineDashOffset = it.doff || 0;
      ctx.stroke();
    }
    var m = it.m;
    if (m && !m._pts) m._pts = decodeXY(m.pts);
    if (m && m._pts.length) {
      if (!m._path) m._path = markerPath(m.path);
      ctx.setLineDash([]); ctx.lineWidth = m.ew; ctx.lineJoin = m.join === "projecting" ? "miter" : m.join;
      ctx.lineCap = m.cap;
      for (var j = 0; j < m._pts.length; j += 2) {
        ctx.save();
        ctx.translate(Math.floor(m._pts[j]) + 0.5, Math.floor(m._pts[j + 1]) + 0.5);
        if (m.fc) { ctx.fillStyle = m.fc; ctx.fill(m._path); }
        if (m.ec && m.ew > 0) { ctx.strokeStyle = m.ec; ctx.stroke(m._path); }
        ctx.restore();
      }
    }
    ctx.restore();
  }

  function drawPatch(ctx, it) {
    ctx.save();
    clipAndTrace(ctx, it, true);
    if (it.fc) { ctx.fillStyle = it.fc; ctx.fill(); }
    if (it.ec) {
      ctx.strokeStyle = it.ec; ctx.lineWidth = it.lw; ctx.setLineDash([]);
      ctx.lineJoin = it.join === "projecting" ? "miter" : it.join; ctx.stroke();
    }
    ctx.restore();
  }

  // Decode every picture a scene needs; resolves to {bg, ov, sprites} (all decoded).
  function prepare(layers, scene) {
    var jobs = [layers.bg, layers.ov];
    var sprites = scene.items.filter(function (it) { return it.t === "img"; });
    sprites.forEach(function (it) { jobs.push(loadImage(pngSrc(it.png))); });
    return Promise.all(jobs).then(function (r) {
      var map = new Map();
      sprites.forEach(function (it, i) { map.set(it, r[2 + i]); });
      return {bg: r[0], ov: r[1], sprites: map};
    });
  }

  // Paint a prepared scene on a canvas sized to the figure (CSS pixels = figure pixels).
  function paint(canvas, scene, ready) {
    var dpr = window.devicePixelRatio || 1;
    var w = scene.w, h = scene.h;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
      canvas.style.width = w + "px"; canvas.style.height = h + "px";
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (ready.bg) ctx.drawImage(ready.bg, 0, 0, w, h);
    scene.items.forEach(function (it) {
      if (it.t === "line") drawLine(ctx, it);
      else if (it.t === "patch") drawPatch(ctx, it);
      else if (it.t === "img") {
        var im = ready.sprites.get(it);
        if (im) ctx.drawImage(im, it.x, it.y);
      }
    });
    if (ready.ov) ctx.drawImage(ready.ov, 0, 0, w, h);
  }

  // One figure on one canvas: the latest requested scene wins, older ones are dropped.
  function Painter(canvas, onPaint) {
    this.canvas = canvas; this.seq = 0; this.onPaint = onPaint; this.layers = {bg: null, ov: null};
  }
  Painter.prototype.setLayers = function (bg, ov) {
    // bg, ov: Promises of decoded images (or null)
    this.layers = {bg: bg, ov: ov};
  };
  Painter.prototype.show = function (scene) {
    var self = this, seq = ++this.seq;
    return prepare(this.layers, scene).then(function (ready) {
      if (seq !== self.seq) return;
      paint(self.canvas, scene, ready);
      if (self.onPaint) self.onPaint(scene);
    });
  };

  return {loadImage: loadImage, pngSrc: pngSrc, decodeXY: decodeXY, Painter: Painter, paint: paint};
})();
