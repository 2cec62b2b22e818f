// The one error of the contract package: a value that breaks a wire rule (sender id, subject prefix,
// stream name, upstream record headers).

export class ContractError extends Error {
  override readonly name: string = "ContractError";
}

/** An internal upstream record whose headers do not follow the contract (see upstream.ts). */
export class MalformedUpstreamError extends ContractError {
  override readonly name = "MalformedUpstreamError";
}
