/**
 * The audit log: one JSON line per login, push and delete (who, what, when, from where), appended
 * to `<data>/audit.log` whatever the log level, so it can be kept and shipped on its own.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface AuditEntry {
  event: string;
  who: string;
  ip?: string;
  [field: string]: unknown;
}

export class AuditLog {
  private readonly out: WriteStream;

  constructor(dataDir: string) {
    this.out = createWriteStream(join(dataDir, 'audit.log'), { flags: 'a', mode: 0o600 });
  }

  record(entry: AuditEntry): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}
