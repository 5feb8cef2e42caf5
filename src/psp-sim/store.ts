import fs from 'node:fs';
import path from 'node:path';
import type { PspSimCharge, PspSimOperation } from '../connectors/psp-sim/wire.ts';
import { LIMITS } from '../lib/limits.ts';

// The simulator's durable memory: an append-only JSON-lines file. Each line
// is the full latest state of one charge or one operation (capture, void,
// refund); on load the last line per id wins. A line is written and fsynced
// before the simulator answers, so an acknowledged charge survives a crash.
// A torn last line (a crash mid-write) was never acknowledged and is dropped.

type StoredLine =
  | { kind: 'charge'; charge: PspSimCharge }
  | { kind: 'operation'; operation: PspSimOperation; charge: PspSimCharge };

export interface SimStore {
  readonly filePath: string;
  chargeById(id: string): PspSimCharge | undefined;
  /** The charge or operation that carries the caller's reference. */
  byReference(reference: string): PspSimCharge | PspSimOperation | undefined;
  charges(): PspSimCharge[];
  /** Whether one more record fits under LIMITS.pspSimRecordsMax. */
  hasRoom(): boolean;
  saveCharge(charge: PspSimCharge): void;
  /** An operation and the charge it changed, in one line: both are durable or neither. */
  saveOperation(operation: PspSimOperation, charge: PspSimCharge): void;
  close(): void;
}

export function openSimStore(dataDir: string): SimStore {
  fs.mkdirSync(dataDir, { recursive: true });
  const filePath = path.join(dataDir, 'charges.jsonl');
  const charges = new Map<string, PspSimCharge>();
  const references = new Map<string, PspSimCharge | PspSimOperation>();
  let operationCount = 0;

  function remember(line: StoredLine): void {
    charges.set(line.charge.id, line.charge);
    references.set(line.charge.reference, line.charge);
    if (line.kind === 'operation') {
      if (!references.has(line.operation.reference)) operationCount += 1;
      references.set(line.operation.reference, line.operation);
    }
  }

  for (const line of readLines(filePath)) remember(line);
  const fd = fs.openSync(filePath, 'a');

  function append(line: StoredLine): void {
    fs.writeSync(fd, `${JSON.stringify(line)}\n`);
    fs.fsyncSync(fd);
    remember(line);
  }

  return {
    filePath,
    chargeById: (id) => charges.get(id),
    byReference: (reference) => references.get(reference),
    charges: () => [...charges.values()],
    hasRoom: () => charges.size + operationCount < LIMITS.pspSimRecordsMax,
    saveCharge: (charge) => append({ kind: 'charge', charge }),
    saveOperation: (operation, charge) => append({ kind: 'operation', operation, charge }),
    close: () => fs.closeSync(fd),
  };
}

function readLines(filePath: string): StoredLine[] {
  if (!fs.existsSync(filePath)) return [];
  let text = fs.readFileSync(filePath, 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) {
    // A torn last line: cut it off so that the next append starts a clean line.
    text = text.slice(0, text.lastIndexOf('\n') + 1);
    fs.truncateSync(filePath, Buffer.byteLength(text));
  }
  return text
    .split('\n')
    .filter((row) => row.trim() !== '')
    .map((row, index) => {
      try {
        return JSON.parse(row) as StoredLine;
      } catch {
        // Only a torn last line is expected (cut above); anything else is corruption.
        throw new Error(`psp-sim data file ${filePath} line ${index + 1} is corrupt`);
      }
    });
}
