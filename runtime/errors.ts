/** The errors nnc's runtime reports to users. */

/** Base class of the errors nnc's runtime reports to users (bad arguments, unavailable backends, …). */
export class NncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A backend was asked for by name but cannot run here. */
export class BackendUnavailableError extends NncError {
  constructor(
    readonly backend: string,
    message: string,
  ) {
    super(message);
  }
}
