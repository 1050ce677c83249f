/* The connect page: credential fields of the chosen broker, posted through sessionManager.fetch. */
(function () {
  'use strict';
  var LABELS = {
    client_id: 'Client ID', api_key: 'API key', api_secret: 'API secret', pin: 'PIN',
    totp_secret: 'TOTP secret', app_id: 'App ID', secret_key: 'Secret key',
    access_token: 'Access token'
  };
  var SECRET = /secret|pin|token/;

  function start() {
    var form = document.getElementById('connect-form');
    if (!form) return;
    var brokers = JSON.parse(form.getAttribute('data-brokers'));
    var select = document.getElementById('broker');
    var fields = document.getElementById('credential-fields');
    var error = document.getElementById('connect-error');
    var button = form.querySelector('button[type=submit]');

    function render() {
      fields.textContent = '';
      brokers[select.value].forEach(function (name) {
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
        wrap.appendChild(label);
        wrap.appendChild(input);
        fields.appendChild(wrap);
      });
    }

    select.addEventListener('change', render);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      error.textContent = '';
      var credentials = {};
      var missing = [];
      brokers[select.value].forEach(function (name) {
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
    render();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
