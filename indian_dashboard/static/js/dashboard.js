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
  var UNREACHABLE = 'Could not reach the server. Check your connection and try again.';
  var ANNOUNCE_EVERY = 20000;
  var $ = function (id) { return document.getElementById(id); };
  var baseTitle = document.title;
  var openDialog = null;
  var returnFocus = null;
  var lastAnnounce = -Infinity;
  var canExtend = true;

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

  // A moment of the server's (ISO 8601) in the trader's own time; the date only when
  // it is not today.
  function when(iso) {
    var at = new Date(iso);
    if (!iso || isNaN(at.getTime())) return '–';
    var time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (at.toDateString() === new Date().toDateString()) return time;
    return at.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' }) +
      ', ' + time;
  }

  function showTime(id, iso) {
    var el = $(id);
    if (!el || !iso || el.getAttribute('datetime') === iso) return;
    el.setAttribute('datetime', iso);
    el.textContent = when(iso);
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
      if (canExtend) stay(); else keepWorking();
    } else if (event.key === 'Tab') {
      var items = focusables(openDialog);
      var i = items.indexOf(document.activeElement);
      var next = event.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : (i + 1) % items.length;
      event.preventDefault();
      items[next].focus();
    }
  });

  // -- session ---------------------------------------------------------------------------

  function note(text) { $('session-note').textContent = text; }

  function stay() {
    return sm.extendSession().then(function (body) {
      if (body && body.extended) {
        // said where a sighted person looks and where a screen reader listens
        var until = 'Done: you stay signed in until ' + when(body.session.expires_at);
        note(canExtend ? until + ' if you are idle.' : until + ', the most this session ' +
          'allows: it cannot be extended again.');
      } else if (body && body.extended === false) {
        cannotExtend();
      } else if (body && body.message) {
        note(body.message);
      }
    }, function () { note(UNREACHABLE); });
  }

  // After the absolute limit: no control offers what cannot be done.
  function cannotExtend() {
    var info = sm.getSessionInfo();
    var end = info ? when(info.absolute_expires_at) : '';
    canExtend = false;
    $('warning-title').textContent = 'Your session ends soon';
    $('warning-desc').textContent = 'This session has reached its maximum length and ' +
      'cannot be extended. Finish what you are doing: you will be signed out at ' + end +
      ', and can connect again then.';
    $('warning-stay').hidden = true;
    $('warning-continue').hidden = false;
    $('warning-logout').textContent = 'Log out now';
    $('stay-signed-in').hidden = true;
    note('This session cannot be extended: it ends at ' + end + '.');
    if (openDialog === $('warning-dialog') && document.activeElement === $('warning-stay')) {
      $('warning-continue').focus();
    }
  }

  function keepWorking() { closeWarning(); }

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
    // Remove, not just hide, what the ended session showed, and every control acting on it.
    ['watchlist', 'broker-name', 'client-id', 'user-name', 'session-list', 'other-sessions-offer',
      'session-started', 'session-idle-end', 'session-absolute-end', 'token-expires']
      .forEach(function (id) { if ($(id)) $(id).textContent = ''; });
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
    showTime('session-started', info.created_at);
    showTime('session-idle-end', info.expires_at);
    showTime('session-absolute-end', info.absolute_expires_at);
    if (canExtend && info.can_extend === false) cannotExtend();
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

  window.addEventListener('sessionWarning', function (event) {
    if (event.detail.canExtend === false) cannotExtend();
    else if (canExtend) note('');  // an earlier "Done: ..." is no longer true
    show($('warning-dialog'), canExtend ? 'warning-stay' : 'warning-continue');
    tick();
  });
  window.addEventListener('sessionExtended', function () {
    if (openDialog === $('warning-dialog')) closeWarning();
    if (canExtend) note('');  // e.g. "Could not reach the server" is over (stay() says "Done")
    tick();
  });
  window.addEventListener('sessionExpired', function (event) {
    closeWarning();
    hideData();
    document.title = 'Session ended · ' + baseTitle;
    $('session-remaining').textContent = '0:00';
    note('Your session has ended.');
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

  // Requests may overlap (an add, then another before the first is back), and their
  // answers may come back in any order: while others are in flight an answer is not
  // drawn, and when overlapping requests have all come back the list is read again,
  // so the page never shows a list older than what the server holds.
  var inFlight = 0;
  var overlapped = false;

  function watchlistRequest(path, options) {
    inFlight += 1;
    if (inFlight > 1) overlapped = true;
    return sm.fetch(path, options).then(function (response) {
      inFlight -= 1;
      var reread = inFlight === 0 && overlapped;
      if (reread) overlapped = false;
      return answer(response, inFlight === 0 && !reread).then(function (ok) {
        if (reread) watchlistRequest('/api/watchlist', { cache: 'no-store' });
        return ok;
      });
    }, function () {
      inFlight -= 1;
      return failed();
    });
  }

  function answer(response, draw) {
    return response.json().then(function (body) {
      if (response.ok) {
        symbolError('');
        if (draw) renderWatchlist(body.watchlist);
      } else if (response.status !== 401) {
        symbolError(body.message || 'Something went wrong. Try again.');
      }
      return response.ok;
    });
  }

  function symbolError(text) {
    $('watchlist-error').textContent = text;
    if (text) $('symbol').setAttribute('aria-invalid', 'true');
    else $('symbol').removeAttribute('aria-invalid');
  }

  function failed() {
    symbolError(UNREACHABLE);
    return false;
  }

  function removeSymbol(symbol) {
    watchlistRequest('/api/watchlist/' + encodeURIComponent(symbol), { method: 'DELETE' })
      .then(function () { $('symbol').focus(); });
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
        $('session-list-error').textContent = body.message || 'That session could not be ended. Try again.';
      }
      return false;
    });
  }

  function listFailed() {
    $('session-list-error').textContent = UNREACHABLE;
    return false;
  }

  function loadSessions() {
    return sm.fetch('/api/session/list?limit=100', { cache: 'no-store' })
      .then(sessionsAnswer, listFailed);
  }

  function endSession(id) {
    sm.fetch('/api/session/' + encodeURIComponent(id), { method: 'DELETE' })
      .then(sessionsAnswer, listFailed);
  }

  function endOthers() {
    sm.fetch('/api/session/revoke-others', { method: 'POST' }).then(sessionsAnswer, listFailed);
  }

  // How many other sessions the account had when this one began: from the broker's
  // redirect (/#other-sessions=N) or from the connect page (sessionStorage).
  function otherSessionsAtConnect() {
    var found = /^#other-sessions=(\d+)$/.exec(window.location.hash);
    if (found) {
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
      return Number(found[1]);
    }
    var count = Number(window.sessionStorage.getItem('otherSessions') || 0);
    window.sessionStorage.removeItem('otherSessions');
    return count;
  }

  function offerToEndOthers() {
    var count = otherSessionsAtConnect();
    if (!count) return;
    var offer = $('other-sessions-offer');
    offer.textContent = 'Your account is also signed in ' +
      (count === 1 ? 'on one other device or browser' : 'on ' + count + ' other devices or browsers') +
      '. If that was not you, or you connected with new credentials, choose ' +
      '“Sign out everywhere else”.';
    offer.hidden = false;
  }

  function start() {
    $('watchlist-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var input = $('symbol');
      var typed = input.value;
      // Sent as typed: the server's rule is the only one, and its message says what is wrong.
      watchlistRequest('/api/watchlist', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ symbol: typed })
      }).then(function (ok) {
        // clear only what was sent, not what the person typed since
        if (ok && input.value === typed) input.value = '';
      });
    });
    // a message about what was typed goes once the person changes it
    $('symbol').addEventListener('input', function () { symbolError(''); });
    $('stay-signed-in').addEventListener('click', stay);
    $('warning-stay').addEventListener('click', stay);
    $('log-out').addEventListener('click', logOut);
    $('warning-logout').addEventListener('click', logOut);
    $('warning-continue').addEventListener('click', keepWorking);
    var token = $('token-expires');
    if (token) token.textContent = when(token.getAttribute('datetime'));
    // after connecting, focus starts at the page's heading, not on <body>
    if (document.activeElement === document.body) $('broker-title').focus();
    var config = window.sessionManagerConfig || {};
    if (!('autoExtend' in config)) sm.setAutoExtend(true);
    watchlistRequest('/api/watchlist', { cache: 'no-store' });
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
