/* share/static/webauthn.js (/static/webauthn.js) - security keys and passkeys: the sign-in button
 * (POST /login/begin, navigator.credentials.get, POST /login) and the account
 * page's add-a-key form (POST /account/webauthn, navigator.credentials.create). */
(function () {
	'use strict';
	// The texts come from this script's element, in the page's language
	// (share/templates/webauthn-script.html, share/i18n/).
	var T = (document.currentScript && document.currentScript.dataset) || {};
	function say(el, k, text) { if (el) el.textContent = text || (k ? T[k] || '' : ''); }
	function b64u(buf) {
		var s = '', b = new Uint8Array(buf);
		for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
		return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
	}
	function unb64u(s) {
		s = s.replace(/-/g, '+').replace(/_/g, '/');
		while (s.length % 4) s += '=';
		var r = atob(s), b = new Uint8Array(r.length);
		for (var i = 0; i < r.length; i++) b[i] = r.charCodeAt(i);
		return b;
	}
	function descs(list) {
		return (list || []).map(function (c) { return { type: c.type, id: unb64u(c.id), transports: c.transports }; });
	}
	function post(url, fields) {
		return fetch(url, { method: 'POST', body: new URLSearchParams(fields), credentials: 'same-origin',
			headers: { Accept: 'application/json' } }).then(function (res) {
			return res.json().then(function (j) {
				if (!res.ok) { var e = new Error(j.error_description || ''); e.server = true; throw e; }
				return j;
			});
		});
	}
	function submit(action, fields) {
		var f = document.createElement('form');
		f.method = 'post';
		f.action = action;
		Object.keys(fields).forEach(function (k) {
			var i = document.createElement('input');
			i.type = 'hidden'; i.name = k; i.value = fields[k];
			f.appendChild(i);
		});
		document.body.appendChild(f);
		f.submit();
	}
	function why(e) {
		var n = e && e.name;
		if (n === 'NotAllowedError' || n === 'AbortError') return 'cancelled';
		if (n === 'InvalidStateError') return 'exists';
		if (n === 'SecurityError') return 'security';
		if (n === 'NotSupportedError') return 'unsupported';
		return 'failed';
	}
	var ok = !!(window.PublicKeyCredential && navigator.credentials);
	var btn = document.getElementById('method-webauthn'), st = document.getElementById('method-status');
	if (btn) btn.addEventListener('click', function () {
		if (!ok) return say(st, 'unsupported');
		var tx = document.querySelector('input[name=tx]').value, csrf = document.querySelector('input[name=csrf]').value;
		btn.disabled = true;
		say(st, 'wait');
		post('/login/begin', { tx: tx, csrf: csrf, method: 'webauthn' }).then(function (o) {
			var pk = o.publicKey;
			pk.challenge = unb64u(pk.challenge);
			pk.allowCredentials = descs(pk.allowCredentials);
			return navigator.credentials.get({ publicKey: pk });
		}).then(function (c) {
			var r = c.response;
			submit('/login', { tx: tx, csrf: csrf, method: 'webauthn', credential_id: b64u(c.rawId),
				client_data: b64u(r.clientDataJSON), authenticator_data: b64u(r.authenticatorData),
				signature: b64u(r.signature), user_handle: r.userHandle ? b64u(r.userHandle) : '' });
		}).catch(function (e) {
			btn.disabled = false;
			say(st, why(e), e && e.server ? e.message : '');
		});
	});
	var reg = document.getElementById('webauthn-register'), rst = document.getElementById('webauthn-status');
	if (reg) reg.addEventListener('submit', function (ev) {
		ev.preventDefault();
		if (!ok) return say(rst, 'unsupported');
		var csrf = reg.querySelector('input[name=csrf]').value, name = reg.querySelector('input[name=name]').value;
		var add = document.getElementById('webauthn-add'), id = '';
		add.disabled = true;
		say(rst, 'wait');
		post('/account/webauthn', { csrf: csrf, action: 'begin' }).then(function (o) {
			if (o.step_up) { say(rst, 'stepup'); submit('/account/webauthn', { csrf: csrf, action: 'step_up' }); return null; }
			var pk = o.publicKey;
			id = o.reg;
			pk.challenge = unb64u(pk.challenge);
			pk.user.id = unb64u(pk.user.id);
			pk.excludeCredentials = descs(pk.excludeCredentials);
			return navigator.credentials.create({ publicKey: pk });
		}).then(function (c) {
			if (!c) return;
			var r = c.response;
			submit('/account/webauthn', { csrf: csrf, action: 'finish', reg: id, name: name,
				client_data: b64u(r.clientDataJSON), attestation_object: b64u(r.attestationObject),
				transports: r.getTransports ? r.getTransports().join(',') : '' });
		}).catch(function (e) {
			add.disabled = false;
			say(rst, why(e), e && e.server ? e.message : '');
		});
	});
})();
