// Readiness for systemd units with Type=notify (deploy/systemd/*.service).
//
// sd_notify is one datagram on the AF_UNIX socket named by $NOTIFY_SOCKET, and Node has no
// AF_UNIX datagram sockets. So the message goes through systemd's own `systemd-notify`,
// which is wherever systemd is. The units set NotifyAccess=all because the sender is that
// child, not the main process; since systemd 246 systemd-notify waits until the manager has
// read the message (sd_notify_barrier) before it exits, so the manager can still attribute
// it to the unit (an exited sender used to be dropped: systemd issue 2739).
import { execFile } from "node:child_process";

const socket = process.env.NOTIFY_SOCKET;
// Read once at start-up, then removed: no child may inherit it. podman above all would
// hand it to the containers it starts (--sdnotify=container), and they would then speak
// for the agent's unit.
delete process.env.NOTIFY_SOCKET;

export interface Notifier {
  warn(obj: object, msg: string): void;
}

/** True when this process was started by systemd with Type=notify (or podman --sdnotify). */
export const notifySocket = (): string | undefined => socket;

/**
 * Sends `fields` (e.g. READY=1, STATUS=…) to the service manager. Does nothing without
 * $NOTIFY_SOCKET; a failure is logged, never thrown: a daemon that serves keeps serving.
 */
export function sdNotify(fields: Record<string, string>, log: Notifier, command = "systemd-notify"): Promise<boolean> {
  if (!socket) return Promise.resolve(false);
  const args = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, " ")}`);
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) log.warn({ err: (stderr || err.message).trim(), socket }, "could not tell the service manager (systemd-notify failed)");
      resolve(!err);
    });
  });
}
