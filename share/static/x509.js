/* share/static/x509.js (/static/x509.js): citizen certificate sign-in and card
 * linking (authd). */
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
  function postForm(url, fields, cors) {
    return fetch(url, { method: 'POST', credentials: cors ? 'omit' : 'same-origin',
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
  function run(ch) {
    if (ch.mode === 'tls') {
      submit('/login', { tx: val('tx'), csrf: val('csrf'), method: 'x509', mode: 'tls' });
      return;
    }
    var origin = ch.origin;
    return fetch(origin + '/pkcs11info?withcert=true', { credentials: 'omit' })
      .then(function (r) { return r.json(); }, function () { throw { local: true }; })
      .then(function (info) {
        if (!info || info.ret_code !== 0) { throw { card: info ? info.last_error : '' }; }
        var pkg = JSON.stringify({ tbs: ch.nonce, tbsEncoding: 'NONE', hashAlgorithm: ch.hashAlgorithm,
          withCardSN: 'false', pin: pinBox.value, nonce: '', func: 'MakeSignature', signatureType: ch.signatureType });
        pinBox.value = '';
        return postForm(origin + '/sign', { tbsPackage: pkg }, true);
      })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        if (!res || res.ret_code !== 0 || !res.signature) { throw { card: res ? res.last_error : '' }; }
        say(T.checking);
        if (bind) { submit('/account/x509', { csrf: val('csrf'), action: 'bind', pkcs7: res.signature }); }
        else { submit('/login', { tx: val('tx'), csrf: val('csrf'), method: 'x509', mode: 'sign', pkcs7: res.signature }); }
      });
  }
  btn.addEventListener('click', function () {
    if (!pinBox) { askPin(); return; }
    if (!/^[0-9]{6,12}$/.test(pinBox.value)) {
      say(T.pinFormat);
      return;
    }
    btn.disabled = true;
    say(T.signing);
    var begin = bind ? postForm('/account/x509', { csrf: val('csrf'), action: 'bind_begin' })
                     : postForm('/login/begin', { tx: val('tx'), csrf: val('csrf'), method: 'x509' });
    begin.then(function (r) { if (!r.ok) { throw { server: r.status }; } return r.json(); })
      .then(function (ch) {
        if (ch && ch.step_up) {
          say(T.stepUp);
          submit('/account/x509', { csrf: val('csrf'), action: 'step_up' });
          return;
        }
        return run(ch);
      })
      .catch(function (e) {
        if (e && e.local) {
          fail(T.local);
        } else if (e && e.card !== undefined) {
          fail(T.card + (e.card || ''));
        } else {
          fail(T.expired);
        }
      });
  });
}());
