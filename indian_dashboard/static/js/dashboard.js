/* The dashboard: watchlist, session panel, and the warning and expiry dialogs. */
(function () {
  'use strict';
  var sm = window.sessionManager;
  var REASONS = {
    timeout: 'You were signed out because there was no activity for a while.',
    absolute: 'Your session reached its maximum length, so you were signed out.',
    logout: 'You signed out in another tab.',
    revoked: 'Your session was ended from another device or by the server.',
    limit: 'You were signed out because your account signed in on more devices than ' +
      'allowed (the oldest session ends).',
    unreachable: 'The server could not be reached before your session ran out, ' +
      'so this page was locked to protect your data.'
  };
  var ANNOUNCE_EVERY = 20000;
  var $ = function (id) { return document.getElementById(id); };
  var baseTitle = document.title;
  var openDialog = null;
  var returnFocus = null;
  var lastAnnounce = -Infinity;

  function clock(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }

  function words(seconds) {
    if (seconds >= 60) {
      var m = Math.round(seconds / 60);
      return m + (m === 1 ? ' minute' : ' minutes');
    }
    return seconds + (seconds === 1 ? ' second' : ' seconds');
  }

  // -- dialogs (WAI-ARIA alertdialog: focus in, Tab kept inside, focus back) ---------------

  function focusables(dialog) {
    return Array.prototype.filter.call(
      dialog.querySelectorAll('button, a[href], input, select, [tabindex]'),
      function (el) { return !el.disabled && el.offsetParent !== null; });
  }

  function show(dialog, first) {
    if (openDialog === dialog) return;
    if (openDialog) hide(openDialog, false);
    else returnFocus = document.activeElement;
    openDialog = dialog;
    $('backdrop').hidden = false;
    dialog.hidden = false;
    $('app').inert = true;
    $(first).focus();
  }

  function hide(dialog, restore) {
    dialog.hidden = true;
    if (openDialog !== dialog) return;
    openDialog = null;
    $('backdrop').hidden = true;
    $('app').inert = false;
    if (restore && returnFocus && document.contains(returnFocus)) returnFocus.focus();
    returnFocus = null;
  }

  document.addEventListener('keydown', function (event) {
    if (!openDialog) return;
    if (event.key === 'Escape' && openDialog === $('warning-dialog')) {
      event.preventDefault();
      stay();
    } else if (event.key === 'Tab') {
      var items = focusables(openDialog);
      var i = items.indexOf(document.activeElement);
      var next = event.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : (i + 1) % items.length;
      event.preventDefault();
      items[next].focus();
    }
  });

  // -- session ---------------------------------------------------------------------------

  function stay() {
    return sm.extendSession().then(function (body) {
      if (body && body.extended === false) {
        $('warning-desc').textContent = 'This session has reached its maximum length and ' +
          'cannot be extended. Save your work; you will be signed out when the time runs out.';
        $('session-note').textContent = 'The session has reached its maximum length.';
      }
    }).catch(function () {
      $('session-note').textContent = 'The server could not be reached.';
    });
  }

  function logOut() {
    sm.clearSession().then(function () { window.location.assign('/'); },
      function () { window.location.assign('/'); });
  }

  function closeWarning() {
    hide($('warning-dialog'), true);
    document.title = baseTitle;
    $('session-announcer').textContent = '';
  }

  function hideData() {
    // Remove, not just hide, what the expired session showed.
    ['watchlist', 'broker-name', 'client-id', 'session-list'].forEach(function (id) {
      if ($(id)) $(id).textContent = '';
    });
    Array.prototype.forEach.call(document.querySelectorAll('.session-data'), function (el) {
      el.hidden = true;
    });
  }

  function tick() {
    var info = sm.getSessionInfo();
    var state = sm.getState();
    if (!info || state === 'expired') return;
    var left = info.remaining_seconds;
    $('session-remaining').textContent = clock(left);
    if (state === 'warning') {
      $('warning-countdown').textContent = clock(left);
      document.title = '⚠ Session ends in ' + clock(left) + ' · ' + baseTitle;
      var now = window.performance.now();
      if (left <= 60 && now - lastAnnounce >= ANNOUNCE_EVERY) {
        lastAnnounce = now;
        $('session-announcer').textContent = 'Your session ends in ' + words(left) + '.';
      }
    }
  }

  window.addEventListener('sessionWarning', function () {
    show($('warning-dialog'), 'warning-stay');
    tick();
  });
  window.addEventListener('sessionExtended', function () {
    if (openDialog === $('warning-dialog')) closeWarning();
    $('session-note').textContent = '';
    tick();
  });
  window.addEventListener('sessionExpired', function (event) {
    closeWarning();
    hideData();
    document.title = 'Session ended · ' + baseTitle;
    $('session-remaining').textContent = '0:00';
    $('expired-desc').textContent = REASONS[event.detail.reason] || event.detail.message;
    show($('expired-dialog'), 'expired-connect');
  });
  window.addEventListener('sessionCleared', function () { hideData(); });

  // -- watchlist -------------------------------------------------------------------------

  function renderWatchlist(symbols) {
    var list = $('watchlist');
    list.textContent = '';
    symbols.forEach(function (symbol) {
      var item = document.createElement('li');
      var name = document.createElement('span');
      name.className = 'symbol';
      name.textContent = symbol;
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'link';
      remove.textContent = 'Remove';
      remove.setAttribute('aria-label', 'Remove ' + symbol);
      remove.addEventListener('click', function () { removeSymbol(symbol); });
      item.appendChild(name);
      item.appendChild(remove);
      list.appendChild(item);
    });
    $('watchlist-empty').hidden = symbols.length > 0;
  }

  function answer(response) {
    return response.json().then(function (body) {
      if (response.ok) {
        $('watchlist-error').textContent = '';
        renderWatchlist(body.watchlist);
      } else if (response.status !== 401) {
        $('watchlist-error').textContent = body.message || 'Something went wrong.';
      }
      return response.ok;
    });
  }

  function failed() {
    $('watchlist-error').textContent = 'The server could not be reached. Try again.';
    return false;
  }

  function removeSymbol(symbol) {
    sm.fetch('/api/watchlist/' + encodeURIComponent(symbol), { method: 'DELETE' })
      .then(answer, failed).then(function () { $('symbol').focus(); });
  }

  // -- where else this account is signed in ---------------------------------------------

  function renderSessions(sessions) {
    var list = $('session-list');
    list.textContent = '';
    var others = 0;
    sessions.forEach(function (s) {
      var item = document.createElement('li');
      var what = document.createElement('span');
      what.className = 'device';
      what.textContent = s.device + (s.ip ? ' · ' + s.ip : '') +
        (s.current ? ' · this device' : '');
      item.appendChild(what);
      if (!s.current) {
        others += 1;
        var end = document.createElement('button');
        end.type = 'button';
        end.textContent = 'End';
        end.setAttribute('aria-label', 'End session on ' + s.device);
        end.addEventListener('click', function () { endSession(s.session_id); });
        item.appendChild(end);
      }
      list.appendChild(item);
    });
    $('revoke-others').hidden = others === 0;
    if (!others) $('other-sessions-offer').hidden = true;
  }

  function sessionsAnswer(response) {
    return response.json().then(function (body) {
      if (response.ok && body.sessions) {
        $('session-list-error').textContent = '';
        renderSessions(body.sessions);
        return true;
      }
      if (response.ok) return loadSessions();
      if (response.status !== 401) {
        $('session-list-error').textContent = body.message || 'Could not end that session.';
      }
      return false;
    });
  }

  function loadSessions() {
    return sm.fetch('/api/session/list?limit=100', { cache: 'no-store' }).then(sessionsAnswer, failed);
  }

  function endSession(id) {
    sm.fetch('/api/session/' + encodeURIComponent(id), { method: 'DELETE' })
      .then(sessionsAnswer, failed);
  }

  function endOthers() {
    sm.fetch('/api/session/revoke-others', { method: 'POST' }).then(sessionsAnswer, failed);
  }

  function offerToEndOthers() {
    var count = Number(window.sessionStorage.getItem('otherSessions') || 0);
    window.sessionStorage.removeItem('otherSessions');
    if (!count) return;
    var offer = $('other-sessions-offer');
    offer.textContent = 'This account is also signed in ' +
      (count === 1 ? 'in one other place' : 'in ' + count + ' other places') +
      '. If you connected with new credentials, sign out everywhere else.';
    offer.hidden = false;
  }

  function start() {
    $('watchlist-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var input = $('symbol');
      var typed = input.value;
      var symbol = typed.trim().toUpperCase();
      if (!symbol) {
        $('watchlist-error').textContent = 'Type an NSE symbol, for example RELIANCE.';
        return;
      }
      sm.fetch('/api/watchlist', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ symbol: symbol })
      }).then(answer, failed).then(function (ok) {
        // clear only what was sent, not what the person typed since
        if (ok && input.value === typed) input.value = '';
      });
    });
    $('stay-signed-in').addEventListener('click', stay);
    $('warning-stay').addEventListener('click', stay);
    $('log-out').addEventListener('click', logOut);
    $('warning-logout').addEventListener('click', logOut);
    var config = window.sessionManagerConfig || {};
    if (!('autoExtend' in config)) sm.setAutoExtend(true);
    sm.fetch('/api/watchlist', { cache: 'no-store' }).then(answer, failed);
    $('revoke-others').addEventListener('click', endOthers);
    offerToEndOthers();
    loadSessions();
    sm.init().then(tick);
    setInterval(tick, 1000);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
