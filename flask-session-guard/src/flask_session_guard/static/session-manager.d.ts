// Types for session-manager.js (hand-written; the script is plain JavaScript).

/** The server's session object (GET /api/session/info), remaining_seconds kept current. */
export interface SessionInfo {
  session_id: string;
  created_at: string;
  last_activity: string;
  elapsed_seconds: number;
  remaining_seconds: number;
  is_active: boolean;
  expires_at: string;
  absolute_expires_at: string;
  idle_timeout_seconds: number;
  /** Added by the client: false once the absolute lifetime bounds the session. */
  can_extend: boolean;
}

export type SessionState = 'none' | 'active' | 'warning' | 'expired';
export type ExpiryReason = 'timeout' | 'absolute' | 'logout' | 'revoked' | 'limit' | 'unreachable';

/** Read once by init() from window.sessionManagerConfig; durations in seconds. */
export interface SessionManagerConfig {
  /** Prefix of the /api paths (default ''). */
  base?: string;
  /** Longest gap between two passive checks by the polling tab (default 30). */
  pollInterval?: number;
  /** Seconds before expiry at which sessionWarning fires (default 300); capped at a third
   * of the session's idle timeout, never under minWarning, always short of the session. */
  warningThreshold?: number;
  /** Floor for the threshold (default 20, WCAG 2.2.1); lowered only by tests. */
  minWarning?: number;
  /** Extend before the warning when there was real input (default false). */
  autoExtend?: boolean;
  /** Input is handled at most once per this many seconds (default 1). */
  throttle?: number;
  /** A timer this late means the tab slept or was frozen (default 2). */
  lateTolerance?: number;
  /** How long a tab that does not poll waits for the polling tab's word (default 1.5). */
  grace?: number;
  /** Initialise on page load (default true). */
  autoInit?: boolean;
}

export interface SessionManager {
  /** Fetch a CSRF token and the session's status; calling it again returns the same promise. */
  init(): Promise<SessionInfo | null>;
  /** The current CSRF token, or null before init or after the session ended. */
  getCSRFToken(): string | null;
  /** The last session info with remaining_seconds counted down locally; null without one. */
  getSessionInfo(): SessionInfo | null;
  getState(): SessionState;
  /** POST /api/session/extend; resolves to the server's JSON answer. */
  extendSession(): Promise<{ status: string; extended?: boolean; session?: SessionInfo }>;
  /** POST /api/session/clear (log out); every other tab gets sessionExpired with reason 'logout'. */
  clearSession(): Promise<boolean>;
  /** fetch() that adds X-CSRF-Token to same-origin unsafe requests and refreshes a stale token once. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Ask the server now (passive). */
  refresh(): Promise<void>;
  setAutoExtend(enabled: boolean): void;
  /** Seconds; values under 20 are raised to 20. */
  setWarningThreshold(seconds: number): void;
  /** Remove every listener, timer, lock and channel; init() may be called again. */
  destroy(): void;
}

declare global {
  interface Window {
    sessionManager: SessionManager;
    sessionManagerConfig?: SessionManagerConfig;
  }
  interface WindowEventMap {
    sessionExpired: CustomEvent<{ message: string; reason: ExpiryReason }>;
    sessionWarning: CustomEvent<{ remainingSeconds: number; canExtend: boolean }>;
    sessionExtended: CustomEvent<{ remainingSeconds: number }>;
    sessionCleared: CustomEvent<Record<string, never>>;
  }
}
