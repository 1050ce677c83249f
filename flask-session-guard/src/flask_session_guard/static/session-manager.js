/*
 * session-manager.js: window.sessionManager, the browser client of flask-session-guard.
 *
 * The server is the clock: only durations (remaining_seconds) are trusted, and
 * the local deadline is measured with performance.now() from the moment an
 * answer arrived. Watching uses the passive endpoints only; one tab (holding a
 * Web Lock) polls for all; tabs share one deadline over BroadcastChannel, or
 * over localStorage 'storage' events where BroadcastChannel is missing.
 *
 * The API's prefix comes from the script tag's data-api-prefix (default
 * /api/session), so an app mounted under a sub-path works unchanged.
 * Test seam: window.sessionManagerConfig, read by init(); times in seconds.
 *
 * Cross-tab messages come from any page of this origin, so they are checked: a
 * message of the wrong shape is dropped, a token never travels on the channel
 * (a 'tok' message only says "fetch a fresh one before your next write"), an
 * 'end' is believed only once the server confirms it, and a remaining time is
 * clamped to the idle timeout. What a same-origin page can still do is call the
 * API itself, as this script does: the channel gives it nothing more.
 */
(function (win, doc) {
  'use strict';
  if (win.sessionManager) return;

  var DEFAULTS = {
    apiPrefix: '/api/session', // where SESSION_API_PREFIX mounts the session API
    pollInterval: 30,     // longest gap between two passive checks (leader)
    warningThreshold: 300,
    minWarning: 20,       // WCAG 2.2.1: at least 20 s to react
    autoExtend: false,
    throttle: 1,          // input handled at most once per this many seconds
    lateTolerance: 2,     // a timer this late means the tab slept or was frozen
    grace: 1.5,           // how long a follower waits for the leader's word
    autoInit: true
  };
  var tag = doc.currentScript;
  if (tag && tag.getAttribute('data-api-prefix')) {
    DEFAULTS.apiPrefix = tag.getAttribute('data-api-prefix').replace(/\/+$/, '');
  }
  var SAFE = /^(GET|HEAD|OPTIONS|TRACE)$/;
  var KEY = 'sessionManager';
  var TYPES = { act: 1, end: 1, info: 1, ext: 1, tok: 1 };
  var INPUTS = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'scroll', 'mousemove'];
  var WAKE = ['pageshow', 'focus', 'online', 'resume'];

  var cfg, perf = function () { return win.performance.now(); };
  var st, started, tokenRefresh = null;

  function fresh() {
    return {
      token: null, stale: false, ending: null,
      info: null, deadline: 0, heard: -1e12, wall: 0, state: 'none', retry: 0,
      warned: false, active: false, absolute: false, leader: false,
      timer: 0, expected: 0, checking: null, channel: null, release: null,
      abort: null, lastInput: -1e12, mx: null, my: null
    };
  }
  st = fresh();

  function emit(name, detail) {
    win.dispatchEvent(new CustomEvent(name, { detail: detail || {} }));
  }
  function live() { return st.state === 'active' || st.state === 'warning'; }
  function mark(state) {
    st.state = state;
    doc.documentElement.setAttribute('data-session', state);
    if (live() && !st.leader && !st.abort) lead();
  }
  function url(path) { return cfg.apiPrefix + '/' + path; }
  function ms(seconds) { return seconds * 1000; }
  // The warning must leave most of a session usable, whatever its length: at most a
  // third of the idle timeout, never under minWarning (WCAG 2.2.1's 20 s), and short
  // of the whole session, so an extension always ends the warning.
  function threshold() {
    var t = Math.max(cfg.warningThreshold, cfg.minWarning);
    var idle = st.info && st.info.idle_timeout_seconds;
    if (idle > 0) t = Math.min(t, Math.max(idle / 3, cfg.minWarning), idle * 0.9);
    return ms(t);
  }

  // -- cross-tab messages ---------------------------------------------------------------

  function post(msg) {
    if (st.channel) {
      st.channel.postMessage(msg);
    } else {
      try {
        // set then remove: other tabs see the event, nothing stays stored
        localStorage.setItem(KEY, JSON.stringify([msg, Math.random()]));
        localStorage.removeItem(KEY);
      } catch (e) { /* storage disabled: this tab acts alone */ }
    }
  }
  function onStorage(e) {
    if (e.key === KEY && e.newValue) {
      try { receive(JSON.parse(e.newValue)[0]); } catch (err) { /* not ours */ }
    }
  }
  function onChannel(e) { receive(e.data); }

  function num(x) { return typeof x === 'number' && isFinite(x); }

  function receive(m) {
    if (!m || typeof m !== 'object' || !TYPES[m.t] || !started) return;
    // another tab got a new token: fetch our own before the next write (never theirs)
    if (m.t === 'tok') { st.stale = true; return; }
    if (!live()) return;
    if (m.t === 'act') { st.active = true; return; }
    if (m.t === 'end') {
      // believed once the server says so (the 401 of this check then ends this tab)
      st.ending = MESSAGES[m.reason] ? m.reason : 'revoked';
      check();
      return;
    }
    if (m.t === 'info' || m.t === 'ext') {
      if (!num(m.rem) || !num(m.at)) return;
      // a message that waited (this tab was frozen) is stale: ask the server instead
      if (Math.abs(Date.now() - m.at) > 1000) { check(); return; }
      var idle = st.info && st.info.idle_timeout_seconds;
      if (m.info && typeof m.info === 'object') st.info = m.info;
      st.absolute = m.abs === true;
      // never more time than one idle timeout: a forged message cannot hide a warning
      setDeadline(Math.max(0, Math.min(m.rem, num(idle) ? ms(idle) : m.rem)));
      if (m.t === 'ext') extended();
      decide(false);
    }
  }
  function share(type) {
    post({ t: type, rem: st.deadline - perf(), abs: st.absolute, info: st.info, at: Date.now() });
  }

  // -- deadline and decisions -----------------------------------------------------------

  function setDeadline(remainingMs) {
    st.deadline = perf() + remainingMs;
    st.heard = perf();
    st.wall = Date.now();
    if (st.state !== 'expired') mark(st.warned ? 'warning' : 'active');
  }

  function adopt(info) {
    st.info = info;
    st.absolute = st.absolute || info.expires_at === info.absolute_expires_at;
    setDeadline(ms(info.remaining_seconds));
  }

  function extended() {
    st.active = false;
    st.warned = false;
    if (live()) mark('active');
    emit('sessionExtended', { remainingSeconds: remaining() });
  }

  function remaining() { return Math.max(0, Math.round((st.deadline - perf()) / 1000)); }

  // own: the decision follows this tab's own server answer (only then may it extend)
  function decide(own) {
    if (!live()) return;
    var left = st.deadline - perf();
    if (left > threshold()) {
      if (st.warned) extended();
    } else if (left > 0 && !st.warned) {
      if (own && cfg.autoExtend && st.active && !st.absolute) {
        extendSession();
        return true;
      }
      st.warned = true;
      mark('warning');
      emit('sessionWarning', { remainingSeconds: remaining(), canExtend: !st.absolute });
    }
    schedule();
  }

  function schedule() {
    clearTimeout(st.timer);
    if (!live()) return;
    var now = perf();
    var wait = st.leader ? 0 : ms(cfg.grace);
    var edge = st.warned ? st.deadline + 600 : st.deadline - threshold();
    var poll = st.heard + (st.leader ? ms(cfg.pollInterval) : ms(2 * cfg.pollInterval + 1));
    var at = Math.max(Math.min(edge + wait, poll), now + 250);
    // after a failed check, wait a little before the next (but not past the deadline)
    at = Math.max(at, Math.min(st.retry, st.info ? st.deadline + 600 : Infinity));
    st.expected = at;
    st.timer = setTimeout(onTimer, at - now);
  }

  function onTimer() {
    var now = perf();
    if (now - st.expected > ms(cfg.lateTolerance)) return check();  // slept: ask first
    if (!st.leader && now - st.heard < ms(cfg.grace)) return decide(false);
    check();
  }

  // -- talking to the server ------------------------------------------------------------

  function getJSON(path) {
    return fetch(url(path), { cache: 'no-store', credentials: 'same-origin' });
  }

  function check() {
    if (st.checking) return st.checking;
    var mine = st;
    st.checking = getJSON('info').then(function (r) {
      return r.json().then(function (body) {
        if (st !== mine) return;  // destroyed meanwhile
        var s = body.session;
        if (r.ok && s) {
          // inactive with time left: only a pre-login session; at 0: ends this second
          if (!s.is_active && (s.remaining_seconds || !live())) return expire('revoked');
          adopt(s);
          // an extension about to start tells the other tabs itself (no warning flash)
          if (!decide(true)) share('info');
        } else if (r.status === 401) {
          expire(st.ending || reasonFor(body.error), !!st.ending);
        } else {
          unreachable();
        }
      });
    }).catch(function () { if (st === mine) unreachable(); })
      .then(function () { mine.checking = null; mine.ending = null; });
    return st.checking;
  }

  function unreachable() {
    if (!live()) return;
    // expire only past a deadline the server gave; without one, try again
    if (st.info && perf() >= st.deadline) return expire('unreachable');
    st.retry = perf() + ms(Math.min(5, cfg.pollInterval));
    decide(false);  // count down honestly meanwhile: warn if it is time
  }

  // A 401 says session_revoked when the session was ended from elsewhere; otherwise
  // judge by the local time since the last answer (both local clocks:
  // performance.now() may stand still while a laptop sleeps, Date.now() does not;
  // no server timestamp is compared with either).
  function reasonFor(error) {
    if (error === 'session_limit') return 'limit';  // the account went over its session limit
    if (error === 'session_revoked' || !st.info) return 'revoked';  // gone before this page heard of it
    var left = st.deadline - st.heard - Math.max(perf() - st.heard, Date.now() - st.wall);
    if (left > 1000) return 'revoked';
    return st.absolute ? 'absolute' : 'timeout';
  }

  var MESSAGES = {
    timeout: 'Your session timed out after a period of inactivity.',
    absolute: 'Your session reached its maximum length.',
    logout: 'You signed out in another tab.',
    revoked: 'Your session was ended elsewhere.',
    limit: 'Your account signed in on more devices than allowed; this, its oldest session, ended.',
    unreachable: 'The server could not be reached before your session ran out.'
  };

  function expire(reason, fromPeer) {
    if (!live()) return;
    stop(false);
    mark('expired');
    st.token = null;
    if (!fromPeer) post({ t: 'end', reason: reason });
    emit('sessionExpired', { reason: reason, message: MESSAGES[reason] });
  }

  function refreshToken() {
    if (!tokenRefresh) {
      tokenRefresh = getJSON('csrf-token').then(function (r) { return r.json(); })
        .then(function (body) { takeToken(body); return st.token; })
        .finally(function () { tokenRefresh = null; });
    }
    return tokenRefresh;
  }
  function takeToken(body) {
    if (body && typeof body.csrf_token === 'string' && body.csrf_token !== st.token) {
      st.token = body.csrf_token;
      st.stale = false;
      post({ t: 'tok' });  // the news only: each tab fetches its own token
    }
  }

  // -- activity and waking --------------------------------------------------------------

  function onInput(e) {
    if (e.type === 'mousemove') {
      // the first move only tells where the pointer is; later ones must change it
      var moved = st.mx !== null && (e.screenX !== st.mx || e.screenY !== st.my);
      st.mx = e.screenX;
      st.my = e.screenY;
      if (!moved) return;
    }
    var now = perf();
    if (now - st.lastInput < ms(cfg.throttle)) return;
    st.lastInput = now;
    if (!st.active) {
      st.active = true;
      post({ t: 'act' });
    }
  }

  function onWake(e) {
    if (e.type === 'visibilitychange' && doc.visibilityState !== 'visible') return;
    if (live()) check();
  }

  function lead() {
    if (!navigator.locks || !navigator.locks.request) { st.leader = true; return; }
    st.abort = new AbortController();
    navigator.locks.request(KEY + ':leader', { signal: st.abort.signal }, function () {
      st.leader = true;
      schedule();
      return new Promise(function (resolve) { st.release = resolve; });
    }).catch(function () { /* aborted on destroy */ });
  }

  function listen(on) {
    var method = on ? 'addEventListener' : 'removeEventListener';
    INPUTS.forEach(function (name) {
      win[method](name, onInput, { capture: true, passive: true });
    });
    WAKE.forEach(function (name) { win[method](name, onWake); });
    doc[method]('visibilitychange', onWake);
    doc[method]('resume', onWake);
  }

  function stop(all) {
    clearTimeout(st.timer);
    listen(false);
    if (st.release) st.release();
    if (st.abort) st.abort.abort();
    st.release = st.abort = null;
    st.leader = false;
    if (all) {
      if (st.channel) st.channel.close();
      win.removeEventListener('storage', onStorage);
      st.channel = null;
    }
  }

  // -- public API -----------------------------------------------------------------------

  function init() {
    if (started) return started;
    cfg = Object.assign({}, DEFAULTS, win.sessionManagerConfig || {});
    st = fresh();
    // a page the server rendered for an active session expires if the session is gone;
    // one it rendered without a session (a sign-in page) has nothing to check: no 401
    var rendered = doc.documentElement.getAttribute('data-session');
    if (rendered === 'active') st.state = 'active';
    if (typeof BroadcastChannel === 'function') {
      st.channel = new BroadcastChannel(KEY);
      st.channel.onmessage = onChannel;
    } else {
      win.addEventListener('storage', onStorage);
    }
    listen(true);
    started = Promise.all([
      refreshToken().catch(function () { return null; }),
      rendered === 'none' ? null : check()
    ]).then(function () { return manager.getSessionInfo(); });
    return started;
  }

  function extendSession() {
    return smFetch(url('extend'), { method: 'POST' }).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok && body.session) {
          adopt(body.session);
          if (body.extended) {
            extended();
            share('ext');
          } else {
            st.absolute = true;
            share('info');
          }
          decide(false);
        }
        return body;
      });
    });
  }

  function clearSession() {
    return smFetch(url('clear'), { method: 'POST' }).then(function (r) {
      stop(false);
      mark('none');
      st.token = null;
      post({ t: 'end', reason: 'logout' });
      emit('sessionCleared', {});
      return r.ok;
    });
  }

  function sameOrigin(href) {
    try { return new URL(href).origin === win.location.origin; } catch (e) { return false; }
  }

  function replayable(body) {
    return body == null || typeof body === 'string' || body instanceof Blob ||
      body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
      body instanceof FormData || body instanceof URLSearchParams;
  }

  function smFetch(input, options) {
    var opts = Object.assign({}, options || {});
    var req = input instanceof Request ? input : null;
    var method = String(opts.method || (req ? req.method : 'GET')).toUpperCase();
    var target;
    try {
      target = new URL(req ? req.url : String(input), doc.baseURI);
    } catch (e) {
      target = null;
    }
    var own = !!target && target.origin === win.location.origin;
    var base = new Headers(opts.headers || (req ? req.headers : undefined));
    var attach = own && !SAFE.test(method) && !base.has('X-CSRF-Token');
    var spare = attach && req && !opts.body ? req.clone() : null;
    var canRetry = attach && (req ? !!spare || replayable(opts.body) : replayable(opts.body));

    function send(first) {
      if (attach && st.stale && first) {
        st.stale = false;  // one refresh, whatever it answers
        var go = function () { return send(true); };
        return refreshToken().then(go, go);
      }
      var headers = new Headers(base);
      var o = Object.assign({}, opts, { headers: headers });
      if (attach) {
        if (st.token) headers.set('X-CSRF-Token', st.token);
        // whatever the caller asked: a request carrying the token stays on this
        // origin, so a redirect to another one is a network error, never followed
        o.mode = 'same-origin';
      }
      var sent = st.token;
      return fetch(first ? input : spare || input, o).then(function (r) {
        return inspect(r, first, sent);
      });
    }

    function inspect(r, first, sent) {
      var type = r.headers.get('Content-Type') || '';
      // an answer is read only if it came from this origin (a same-origin URL may
      // have redirected elsewhere: a token or session info from there is not ours)
      if (!own || !sameOrigin(r.url) || type.indexOf('application/json') < 0) return r;
      return r.clone().json().then(function (body) {
        takeToken(body);
        if (r.ok && body.session && typeof body.session.remaining_seconds === 'number' &&
            body.session.is_active && target.pathname !== url('extend')) {
          // a new session (a login) has a new absolute lifetime
          if (st.info && body.session.session_id !== st.info.session_id) st.absolute = false;
          st.warned = false;
          adopt(body.session);
          share('info');
          decide(false);
        }
        if (r.status === 401) {
          expire(reasonFor(body.error));
        } else if (r.status === 403 && first && canRetry &&
                   (body.error === 'csrf_missing' || body.error === 'csrf_invalid')) {
          var again = st.token !== sent ? Promise.resolve() : refreshToken();
          return again.then(function () { return send(false); }, function () { return r; });
        }
        return r;
      }, function () { return r; });
    }

    return send(true);
  }

  var manager = {
    init: init,
    getCSRFToken: function () { return st.token; },
    getSessionInfo: function () {
      if (!st.info) return null;
      return Object.assign({}, st.info, {
        remaining_seconds: st.state === 'expired' ? 0 : remaining(),
        is_active: live(),
        // false once the absolute lifetime bounds the session: extending cannot help
        can_extend: live() && !st.absolute
      });
    },
    getState: function () { return st.state; },
    extendSession: extendSession,
    clearSession: clearSession,
    fetch: smFetch,
    refresh: check,
    setAutoExtend: function (on) { (cfg || DEFAULTS).autoExtend = !!on; },
    setWarningThreshold: function (seconds) {
      var c = cfg || DEFAULTS;
      c.warningThreshold = Math.max(Number(seconds) || 0, c.minWarning);
      if (started) decide(false);
    },
    destroy: function () {
      stop(true);
      st = fresh();
      started = null;
      tokenRefresh = null;
    }
  };
  win.sessionManager = manager;

  var early = win.sessionManagerConfig;
  if (!early || early.autoInit !== false) {
    if (doc.readyState === 'loading') {
      doc.addEventListener('DOMContentLoaded', function () { init(); });
    } else {
      init();
    }
  }
})(window, document);
