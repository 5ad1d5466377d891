/* share/static/x509.js (/static/x509.js): citizen certificate sign-in and card
 * linking (authd), through the HiPKI Local Sign Server's popup bridge.
 *
 * The local sign server (HiCOS, [x509] local_sign_origin) sends no CORS
 * headers, so this page cannot fetch it. Instead, inside the click, the page
 * opens a window; once /login/begin (or the account's bind_begin) has given
 * the nonce, that window goes to ORIGIN/popupForm, which posts
 * '{"func":"getTbs"}' to its opener; the page answers with one MakeSignature
 * request (the nonce, the PIN), and the popup posts back the server's answer
 * (ret_code, signature, certb64) and closes. Only messages from the configured
 * origin and from that very window are heeded (docs/citizen-certificate.md). */
(function () {
  'use strict';
  var btn = document.getElementById('method-x509');
  if (!btn) { return; }
  // The texts come from this script's element, in the page's language
  // (share/templates/x509-script.html, share/i18n/).
  var T = (document.currentScript && document.currentScript.dataset) || {};
  var out = document.getElementById('x509-status') || document.getElementById('method-status');
  var bind = btn.getAttribute('data-mode') === 'bind';
  var pinBox = null;
  var READY_MS = 8000;     // the popup's getTbs must come by then (else: no local server)
  var ANSWER_MS = 120000;  // the card's answer (the person may be slow with the reader)
  // ret_code / last_error of the local sign server (docs/taiwan-methods.md).
  var E_LOGIN = 0x76100006, E_NO_CARD = 0x76000006, E_NO_READER = 0x76100003,
    E_READER = 0x76100004, E_UNTRUSTED = 0x76000031, E_NO_PIN = 0x76000998,
    CKR_PIN_LEN_RANGE = 0xA2, CKR_PIN_LOCKED = 0xA4;
  function say(text) { if (out) { out.textContent = text || ''; } }
  function val(n) { var i = document.querySelector('input[name="' + n + '"]'); return i ? i.value : ''; }
  function enc(o) { return Object.keys(o).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(o[k]); }).join('&'); }
  function submit(action, fields) {
    var f = document.createElement('form');
    f.method = 'post'; f.action = action;
    Object.keys(fields).forEach(function (k) {
      var i = document.createElement('input');
      i.type = 'hidden'; i.name = k; i.value = fields[k]; f.appendChild(i);
    });
    document.body.appendChild(f); f.submit();
  }
  function postForm(url, fields) {
    return fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: enc(fields) });
  }
  function askPin() {
    var p = document.createElement('p');
    var l = document.createElement('label');
    l.setAttribute('for', 'x509-pin');
    l.textContent = T.pinLabel || '';
    pinBox = document.createElement('input');
    pinBox.type = 'password'; pinBox.id = 'x509-pin'; pinBox.autocomplete = 'off';
    pinBox.inputMode = 'numeric'; pinBox.maxLength = 16;
    p.appendChild(l); p.appendChild(pinBox);
    btn.parentNode.insertBefore(p, btn);
    pinBox.focus();
    say(T.insert);
  }
  function fail(text) { btn.disabled = false; if (pinBox) { pinBox.value = ''; } say(text); }
  // The site is not on the local server's trusted list: a link to /addDomain.
  function untrusted(origin) {
    fail(T.untrusted);
    if (!out) { return; }
    var a = document.createElement('a');
    a.href = origin + '/addDomain?domain=' + encodeURIComponent(location.hostname);
    a.target = '_blank'; a.rel = 'noopener noreferrer';
    a.id = 'x509-add-domain';
    a.textContent = T.addDomain || a.href;
    out.appendChild(document.createTextNode(' '));
    out.appendChild(a);
  }
  // What the person reads for a ret_code / last_error (both as the JSON
  // carries them: numbers, last_error a signed 32-bit one).
  function cardError(origin, rc, le) {
    rc = rc >>> 0; le = le >>> 0;
    if (rc === E_LOGIN) {
      if (le === CKR_PIN_LOCKED) { return fail(T.locked); }
      if (le === CKR_PIN_LEN_RANGE) { return fail(T.pinFormat); }
      if ((le & 0xFFFFFFF0) >>> 0 === 0x80000000) {
        var left = le & 0xF;
        return fail(left === 1 ? T.pinWrong1 : left === 2 ? T.pinWrong2 : T.pinWrong);
      }
      return fail(T.pinWrong);
    }
    if (rc === E_NO_CARD) { return fail(T.noCard); }
    if (rc === E_NO_READER || rc === E_READER) { return fail(T.noReader); }
    if (rc === E_NO_PIN) { return fail(T.pinFormat); }
    if (rc === E_UNTRUSTED) { return untrusted(origin); }
    return fail((T.card || '') + '0x' + rc.toString(16).toUpperCase());
  }
  // The bridge: w is the window opened in the click, still about:blank.
  function bridge(ch, w, pin) {
    var origin = ch.origin, asked = false, over = false, timer;
    function end() {
      over = true;
      window.removeEventListener('message', on);
      clearTimeout(timer);
      try { if (!w.closed) { w.close(); } } catch (e) { /* gone */ }
    }
    function on(ev) {
      var m;
      // Only the configured local server, and only the window this click
      // opened; anything else (another site, an extension, this page) is
      // ignored.
      if (over || ev.origin !== origin || ev.source !== w || typeof ev.data !== 'string') { return; }
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || typeof m !== 'object') { return; }
      if (!asked) {
        if (m.func !== 'getTbs') { return; }
        asked = true;
        clearTimeout(timer);
        timer = setTimeout(function () { end(); fail(T.local); }, ANSWER_MS);
        // The server form-decodes the package: a '+' of the base64 nonce
        // would become a space, so it goes as %2B.
        w.postMessage(JSON.stringify({ func: 'MakeSignature', signatureType: ch.signatureType,
          tbs: ch.nonce, tbsEncoding: 'NONE', hashAlgorithm: ch.hashAlgorithm,
          withCardSN: 'false', pin: pin, nonce: '' }).replace(/\+/g, '%2B'), origin);
        pin = '';
        return;
      }
      end();
      if (m.ret_code !== 0 || typeof m.signature !== 'string' || m.signature === '') {
        cardError(origin, typeof m.ret_code === 'number' ? m.ret_code : -1,
          typeof m.last_error === 'number' ? m.last_error : 0);
        return;
      }
      say(T.checking);
      var certb64 = typeof m.certb64 === 'string' ? m.certb64 : '';
      if (bind) {
        submit('/account/x509', { csrf: val('csrf'), action: 'bind', pkcs7: m.signature, certb64: certb64 });
      } else {
        submit('/login', { tx: val('tx'), csrf: val('csrf'), method: 'x509', mode: 'sign',
          pkcs7: m.signature, certb64: certb64 });
      }
    }
    window.addEventListener('message', on);
    timer = setTimeout(function () { end(); fail(T.local); }, READY_MS);
    w.location.href = origin + '/popupForm';
  }
  btn.addEventListener('click', function () {
    var w = null, pin;
    if (!pinBox) { askPin(); return; }
    if (!/^[0-9]{6,12}$/.test(pinBox.value)) {
      say(T.pinFormat);
      return;
    }
    pin = pinBox.value;
    pinBox.value = '';
    // Opened now, inside the click: a window opened after the fetch below
    // would be blocked as a popup not asked for.
    w = window.open('', 'authd-hicos', 'popup,width=420,height=360');
    if (!w) { fail(T.popup); return; }
    btn.disabled = true;
    say(T.signing);
    var begin = bind ? postForm('/account/x509', { csrf: val('csrf'), action: 'bind_begin' })
                     : postForm('/login/begin', { tx: val('tx'), csrf: val('csrf'), method: 'x509' });
    begin.then(function (r) { if (!r.ok) { throw { server: r.status }; } return r.json(); })
      .then(function (ch) {
        if (ch && ch.step_up) {
          w.close();
          say(T.stepUp);
          submit('/account/x509', { csrf: val('csrf'), action: 'step_up' });
          return;
        }
        if (ch && ch.mode === 'tls') {
          w.close();
          submit('/login', { tx: val('tx'), csrf: val('csrf'), method: 'x509', mode: 'tls' });
          return;
        }
        if (!ch || typeof ch.origin !== 'string' || !/^https?:\/\/[^/]+$/.test(ch.origin) ||
            typeof ch.nonce !== 'string') {
          throw { server: 0 };
        }
        bridge(ch, w, pin);
        pin = '';
      })
      .catch(function () {
        try { w.close(); } catch (e) { /* gone */ }
        fail(T.expired);
      });
  });
}());
