// creditfactory dashboard: draw the plots, sort and filter tables (no framework, no CDN).
"use strict";
(function () {
  function drawPlots() {
    document.querySelectorAll("figure.plot[data-plot]").forEach(function (el) {
      var src = document.getElementById(el.dataset.plot);
      if (!src || typeof Plotly === "undefined") { return; }
      var fig = JSON.parse(src.textContent);
      Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false})
        .then(function () { el.dataset.rendered = String(fig.data.length); });
    });
  }
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    if (cell.dataset.value !== undefined && cell.dataset.value !== "") {
      var n = parseFloat(cell.dataset.value);
      if (!isNaN(n)) { return n; }
    }
    return cell.textContent.trim().toLowerCase();
  }
  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return ascending ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function wireTables() {
    document.querySelectorAll("table.data").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th, index) {
        var button = th.querySelector("button.sort");
        if (button) { button.addEventListener("click", function () { sortBy(table, index, th); }); }
      });
    });
    document.querySelectorAll("input[data-filter-for]").forEach(function (input) {
      var table = document.getElementById(input.dataset.filterFor);
      if (!table) { return; }
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    });
  }
  function wireFiles() {
    // a file chosen in <input type=file data-fills=ID> is read in the browser into the text
    // box ID (the form posts text only); one larger than data-max-bytes is refused here
    document.querySelectorAll("input[type=file][data-fills]").forEach(function (input) {
      input.addEventListener("change", function () {
        var box = document.getElementById(input.dataset.fills);
        var file = input.files && input.files[0];
        var note = document.getElementById(input.id + "-note");
        if (!box || !file) { return; }
        if (file.size > Number(input.dataset.maxBytes || Infinity)) {
          if (note) { note.textContent = file.name + ": larger than " + input.dataset.maxBytes + " bytes"; }
          return;
        }
        file.text().then(function (text) {
          box.value = text;
          if (note) { note.textContent = file.name + " loaded"; }
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawPlots(); wireTables(); wireFiles(); });
})();
