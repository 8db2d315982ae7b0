(function () {
  "use strict";
  function key(cell, numeric) {
    var v = cell.getAttribute("data-value");
    if (numeric) { return v === null || v === "" ? null : parseFloat(v); }
    return (v === null ? cell.textContent : v).trim().toLowerCase();
  }
  function sortTable(table, col, dir) {
    var head = table.tHead.rows[0].cells;
    var numeric = head[col].getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
      if (x === y) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = x < y ? -1 : 1;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(head, function (h) { h.removeAttribute("aria-sort"); });
    head[col].setAttribute("aria-sort", dir);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (!th.querySelector("button")) { return; }
      th.addEventListener("click", function () {  /* the whole cell; its button bubbles here */
        var now = th.getAttribute("aria-sort");
        var dir = now ? (now === "ascending" ? "descending" : "ascending")
                      : (th.getAttribute("data-first") || "ascending");
        sortTable(table, col, dir);
      });
    });
  });
})();
