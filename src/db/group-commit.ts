import type SQLite from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
} from 'kysely';

// Grouped commits for SQLite. With synchronous=FULL every COMMIT waits for an
// fsync, and better-sqlite3 waits on the event loop's thread: one fsync per
// transaction caps the engine at a few hundred commits per second. Here the
// transactions that run while a commit is pending share one real transaction
// and one fsync, and each keeps its own all-or-nothing outcome:
//
// - The first transaction of a group runs BEGIN; each transaction is a
//   SAVEPOINT inside it. Its commit RELEASEs the savepoint; its rollback rolls
//   back to it, touching nobody else's work.
// - A transaction's commit resolves only after the group's real COMMIT is on
//   disk: a caller never answers before its state is durable. If the process
//   dies first, the whole group is lost, and none of it was acknowledged.
// - A statement outside a transaction joins the open group (a write opens one)
//   and its result also waits for the group's COMMIT, so nothing read from
//   the group is returned before it is durable.
// - The COMMIT runs on the next turn of the event loop, once the transactions
//   already waiting for the connection have joined: a group is what arrived
//   while the previous fsync ran, so it grows with the load and needs no timer.

/** What the driver needs of better-sqlite3 (the statement cache wraps prepare). */
export interface SqliteHandle {
  prepare(sql: string): SQLite.Statement;
  close(): void;
  readonly inTransaction: boolean;
}

const SAVEPOINT = 'payrail_tx';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** First come, first served: the COMMIT queues behind transactions already waiting. */
class FifoMutex {
  #locked = false;
  #queue: Array<() => void> = [];
  lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }
  unlock(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#locked = false;
  }
}

/** One use of the single connection: Kysely acquires one per query or per transaction. */
class Acquisition implements DatabaseConnection {
  /** The mutex was handed on while this use waits for its group's COMMIT. */
  releasedEarly = false;
  savepoint: string | null = null;
  constructor(readonly driver: GroupCommitDriver) {}
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query);
  }
  // biome-ignore lint/correctness/useYield: streaming is not used by the engine
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported with grouped commits');
  }
}

export class GroupCommitDriver implements Driver {
  readonly #db: SqliteHandle;
  readonly #mutex = new FifoMutex();
  #groupOpen = false;
  #waiters: Waiter[] = [];
  #commitScheduled = false;

  constructor(db: SqliteHandle) {
    this.#db = db;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return new Acquisition(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const use = connection as Acquisition;
    this.#openGroup();
    // Transactions never overlap on the connection (each holds the mutex from
    // BEGIN to its end), so one savepoint name serves them all, and its three
    // statements stay in the statement cache instead of pushing others out.
    use.savepoint = SAVEPOINT;
    this.#run(`savepoint ${SAVEPOINT}`);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const use = connection as Acquisition;
    const savepoint = this.#take(use);
    this.#run(`release savepoint ${savepoint}`);
    await this.#awaitGroup(use);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const use = connection as Acquisition;
    const savepoint = this.#take(use);
    if (this.#groupOpen && this.#db.inTransaction) {
      this.#run(`rollback to savepoint ${savepoint}`);
      this.#run(`release savepoint ${savepoint}`);
      return;
    }
    // SQLite rolled the whole transaction back itself (disk full, I/O error):
    // every transaction of the group is lost, and none was acknowledged.
    this.#failGroup(new Error('the grouped transaction was rolled back by SQLite'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const use = connection as Acquisition;
    if (!use.releasedEarly) this.#mutex.unlock();
  }

  async savepoint(): Promise<void> {
    throw new Error('nested savepoints are not supported with grouped commits');
  }

  async rollbackToSavepoint(): Promise<void> {
    throw new Error('nested savepoints are not supported with grouped commits');
  }

  async releaseSavepoint(): Promise<void> {
    throw new Error('nested savepoints are not supported with grouped commits');
  }

  async destroy(): Promise<void> {
    await this.#mutex.lock();
    this.#commitGroup();
    this.#db.close();
  }

  async execute<R>(use: Acquisition, query: CompiledQuery): Promise<QueryResult<R>> {
    if (use.releasedEarly) {
      // A second query on a use that already handed the connection on: take it back.
      await this.#mutex.lock();
      use.releasedEarly = false;
    }
    const statement = this.#db.prepare(query.sql);
    const inTransaction = use.savepoint !== null;
    if (!inTransaction && !statement.reader) this.#openGroup();
    const parameters = query.parameters as unknown[];
    let result: QueryResult<R>;
    if (statement.reader) {
      result = { rows: statement.all(parameters) as R[] };
    } else {
      const { changes, lastInsertRowid } = statement.run(parameters);
      result = {
        numAffectedRows: BigInt(changes),
        insertId: BigInt(lastInsertRowid),
        rows: [],
      };
    }
    if (!inTransaction && this.#groupOpen) await this.#awaitGroup(use);
    return result;
  }

  #take(use: Acquisition): string {
    const savepoint = use.savepoint;
    if (savepoint === null) throw new Error('no transaction is open on this connection');
    use.savepoint = null;
    return savepoint;
  }

  #run(sql: string): void {
    this.#db.prepare(sql).run();
  }

  #openGroup(): void {
    if (this.#groupOpen) return;
    // A group exists to write. IMMEDIATE takes the write lock now, so another
    // process (the CLI beside a running engine) waits for it through
    // busy_timeout; a deferred BEGIN that read first would instead fail at
    // once with SQLITE_BUSY_SNAPSHOT when it tried to write after the other
    // process had committed.
    this.#run('begin immediate');
    this.#groupOpen = true;
  }

  /** Hands the connection on and waits for the group's COMMIT. */
  #awaitGroup(use: Acquisition): Promise<void> {
    const committed = new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
    use.releasedEarly = true;
    this.#mutex.unlock();
    this.#scheduleCommit();
    return committed;
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    setImmediate(() => {
      void this.#mutex.lock().then(() => {
        this.#commitScheduled = false;
        try {
          this.#commitGroup();
        } finally {
          this.#mutex.unlock();
        }
      });
    });
  }

  #commitGroup(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    if (!this.#groupOpen) {
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    this.#groupOpen = false;
    try {
      this.#run('commit');
    } catch (error) {
      if (this.#db.inTransaction) this.#run('rollback');
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  #failGroup(error: Error): void {
    this.#groupOpen = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

/** SQLite's dialect (compiler, adapter, introspection) with the grouped-commit driver. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  readonly #db: SqliteHandle;
  constructor(db: SqliteHandle) {
    super({ database: db as unknown as SQLite.Database });
    this.#db = db;
  }
  override createDriver(): Driver {
    return new GroupCommitDriver(this.#db);
  }
}
