import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.ts';
import { newMasterKey, parseMasterKey } from '../lib/crypto.ts';

export const MASTER_KEY_FILE = 'master.key';

/**
 * The vault's master key: PAYRAIL_MASTER_KEY (64 hex characters or 32 bytes
 * in base64) if set, otherwise a key file in the data directory, made with
 * mode 0600 on first start. Losing it makes stored card numbers unreadable.
 */
export function loadMasterKey(options: { masterKey: string | undefined; dataDir: string }): Buffer {
  if (options.masterKey !== undefined) {
    const key = parseMasterKey(options.masterKey);
    if (!key)
      throw new ConfigError('PAYRAIL_MASTER_KEY: must be 64 hex characters or 32 bytes in base64');
    return key;
  }
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  try {
    const key = parseMasterKey(fs.readFileSync(file, 'utf8'));
    if (!key) throw new ConfigError(`${file}: not a valid master key`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = newMasterKey();
  // 'wx' fails if another process created it first; then read theirs.
  try {
    fs.writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadMasterKey(options);
  }
}
