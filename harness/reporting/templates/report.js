"use strict";
(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    var number = parseFloat(raw);
    return raw !== "" && !isNaN(number) && isFinite(raw) ? number : raw.toLowerCase();
  }
  function sortBy(table, header, index) {
    var body = table.tBodies[0];
    var descending = header.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(header.parentNode.cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var missingX = x === "" || x === "–", missingY = y === "" || y === "–";
      if (missingX || missingY) { return missingX === missingY ? 0 : (missingX ? 1 : -1); }
      if (typeof x === "number" && typeof y === "number") { return descending ? y - x : x - y; }
      return descending ? String(y).localeCompare(String(x)) : String(x).localeCompare(String(y));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var header = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    if (!header) { return; }
    Array.prototype.forEach.call(header.cells, function (th, index) {
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort by this column");
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, th, index); }
      });
    });
  });
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
