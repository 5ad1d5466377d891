/* share/static/print.js (/static/print.js) - the recovery codes page's "Print"
 * button: shown only when scripts run (without them the browser's own print
 * command prints the same page), it opens the print dialogue. */
(function () {
	'use strict';
	var b = document.getElementById('print-codes');
	if (!b) return;
	b.hidden = false;
	b.addEventListener('click', function () { window.print(); });
})();
