/* share/static/expiry.js (/static/expiry.js) - a sign-in step expires
 * ([tokens] login_ttl after the application sent the person here): say so two
 * minutes before, and again when it has happened, in the page's live region,
 * so nobody types a password into a form that can no longer work. The texts
 * and the seconds left come from the page (share/templates/_expiry.html). */
(function () {
	'use strict';
	var live = document.getElementById('expiry');
	if (!live) return;
	var left = parseInt(live.getAttribute('data-left'), 10);
	if (!(left > 0)) return;
	var soon = Math.max(0, left - 120);
	function say(text, cls) {
		live.textContent = text;
		live.className = cls;
	}
	setTimeout(function () { say(live.getAttribute('data-soon'), 'notice'); }, soon * 1000);
	setTimeout(function () { say(live.getAttribute('data-expired'), 'error'); }, left * 1000);
})();
