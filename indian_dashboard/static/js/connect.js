/* The connect page: each broker's fields, its callback URL, and its sign-in (a redirect or direct). */
(function () {
  'use strict';
  var LABELS = {
    client_id: 'Client ID', client_code: 'Client code', api_key: 'API key',
    api_secret: 'API secret', pin: 'MPIN', totp: 'TOTP code (6 digits)', app_id: 'App ID',
    app_secret: 'App secret', secret_key: 'Secret key', access_token: 'Access token'
  };
  var WAYS = { redirect: "the broker's login page", direct: 'this form' };
  var SECRET = /secret|pin|token|totp/;

  function start() {
    var form = document.getElementById('connect-form');
    if (!form) return;
    // A failed callback leaves the broker's code in the address bar: not in history.
    if (window.location.pathname !== '/') window.history.replaceState(null, '', '/');
    var brokers = JSON.parse(form.getAttribute('data-brokers'));
    var select = document.getElementById('broker');
    var variantField = document.getElementById('variant-field');
    var variantSelect = document.getElementById('variant');
    var fields = document.getElementById('credential-fields');
    var hint = document.getElementById('callback-hint');
    var error = document.getElementById('connect-error');
    var button = form.querySelector('button[type=submit]');

    function variant() {
      var variants = brokers[select.value].variants;
      return variants[Number(variantSelect.value) || 0] || variants[0];
    }

    function renderVariants() {
      var variants = brokers[select.value].variants;
      variantSelect.textContent = '';
      variants.forEach(function (v, i) {
        var option = document.createElement('option');
        option.value = String(i);
        option.textContent = v.fields.filter(function (f) { return f !== 'client_id'; })
          .map(function (f) { return LABELS[f] || f; }).join(' + ') + ' (' + WAYS[v.flow] + ')';
        variantSelect.appendChild(option);
      });
      variantField.hidden = variants.length < 2;
      renderFields();
    }

    function renderFields() {
      fields.textContent = '';
      var chosen = variant();
      chosen.fields.forEach(function (name) {
        var wrap = document.createElement('div');
        wrap.className = 'field';
        var label = document.createElement('label');
        label.htmlFor = 'cred-' + name;
        label.textContent = LABELS[name] || name;
        var input = document.createElement('input');
        input.id = 'cred-' + name;
        input.name = name;
        input.required = true;
        input.autocomplete = 'off';
        input.spellcheck = false;
        input.type = SECRET.test(name) ? 'password' : 'text';
        if (name === 'totp') { input.inputMode = 'numeric'; input.type = 'text'; }
        wrap.appendChild(label);
        wrap.appendChild(input);
        fields.appendChild(wrap);
      });
      hint.hidden = chosen.flow !== 'redirect';
      document.getElementById('callback-url').textContent = brokers[select.value].callback_url;
    }

    select.addEventListener('change', function () { error.textContent = ''; renderVariants(); });
    variantSelect.addEventListener('change', renderFields);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      error.textContent = '';
      var credentials = {};
      var missing = [];
      variant().fields.forEach(function (name) {
        var input = form.elements.namedItem(name);
        credentials[name] = input.value.trim();
        if (!credentials[name]) missing.push(LABELS[name] || name);
      });
      if (missing.length) {
        error.textContent = 'Please fill in: ' + missing.join(', ') + '.';
        return;
      }
      button.disabled = true;
      window.sessionManager.fetch('/api/broker/connect', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ broker: select.value, credentials: credentials })
      }).then(function (response) {
        return response.json().then(function (body) {
          if (response.ok && body.status === 'redirect') {
            // Sign in at the broker; it sends the browser back to our callback.
            window.location.assign(body.redirect_url);
            return;
          }
          if (response.ok) {
            // The dashboard offers to end the account's other sessions (new credentials).
            if (body.other_sessions) {
              window.sessionStorage.setItem('otherSessions', String(body.other_sessions));
            }
            window.location.assign('/');
            return;
          }
          error.textContent = body.message || 'Could not connect.';
          button.disabled = false;
        });
      }).catch(function () {
        error.textContent = 'The server could not be reached. Try again.';
        button.disabled = false;
      });
    });
    renderVariants();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
