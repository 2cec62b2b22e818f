// One error class per failure; callers branch on the class (or `code`), never on message text.

/** Base class of every error thrown by @ccs/cluster. */
export class ClusterError extends Error {
  override readonly name: string = "ClusterError";
}

/** An option or configuration value is invalid. */
export class InvalidOptionError extends ClusterError {
  override readonly name = "InvalidOptionError";
}

/** An operation was called in a lifecycle state that does not allow it. */
export class IllegalStateError extends ClusterError {
  override readonly name = "IllegalStateError";
  readonly operation: string;
  readonly state: string;
  constructor(operation: string, state: string) {
    super(`cannot ${operation} while ${state}`);
    this.operation = operation;
    this.state = state;
  }
}

/** Fewer than a majority of Redis nodes answered an operation successfully. */
export class QuorumError extends ClusterError {
  override readonly name = "QuorumError";
  readonly operation: string;
  readonly succeeded: number;
  readonly quorum: number;
  readonly errors: readonly unknown[];
  constructor(operation: string, succeeded: number, quorum: number, errors: readonly unknown[]) {
    super(`${operation}: ${succeeded} of the ${quorum} Redis nodes needed for a majority succeeded`, {
      cause: errors[0],
    });
    this.operation = operation;
    this.succeeded = succeeded;
    this.quorum = quorum;
    this.errors = errors;
  }
}

/** A lock is held by someone else (the acquire vote was lost, not an infrastructure failure). */
export class LockBusyError extends ClusterError {
  override readonly name = "LockBusyError";
  readonly resource: string;
  constructor(resource: string, options?: ErrorOptions) {
    super(`lock ${resource} is held by another owner`, options);
    this.resource = resource;
  }
}

/** A lease's validity ran out before an operation on it completed (e.g. its fencing token arrived late). */
export class LeaseExpiredError extends ClusterError {
  override readonly name = "LeaseExpiredError";
  readonly resource: string;
  constructor(resource: string) {
    super(`lease on ${resource} expired`);
    this.resource = resource;
  }
}

/** A fenced write carried a token older than one a majority of nodes has already seen. */
export class StaleFencingTokenError extends ClusterError {
  override readonly name = "StaleFencingTokenError";
  readonly token: number;
  constructor(what: string, token: number) {
    super(`${what}: fencing token ${token} is stale`);
    this.token = token;
  }
}
