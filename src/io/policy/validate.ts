/**
 * Runs an event's schemas over its arguments. Synchronous schemas give the
 * outcome at once; if any schema answers with a Promise, the outcome is a
 * Promise (never rejected: a schema that throws or rejects gives `error`).
 * Issues are made safe to send to the client: at most MAX_ISSUES, messages
 * cut to MAX_MESSAGE characters, paths of strings and numbers prefixed with
 * the argument's index.
 */
import type { StandardSchemaV1 } from "./standard-schema.js";

const MAX_ISSUES = 10;
const MAX_MESSAGE = 200;
const MAX_PATH = 16;

/** An issue as the client and the `validation_error` event get it. */
export interface PayloadIssue {
  message: string;
  /** Where: the argument's index first, then keys and indexes inside it. */
  path: Array<string | number>;
}

export type Outcome =
  | { readonly values: unknown[]; readonly issues?: undefined; readonly error?: undefined }
  | { readonly issues: PayloadIssue[]; readonly values?: undefined; readonly error?: undefined }
  | { readonly error: unknown; readonly values?: undefined; readonly issues?: undefined };

type Answer = StandardSchemaV1.Result<unknown>;

/**
 * Validates `args[offset..]` against `schemas` (one per argument); the
 * values are what the schemas output, exactly `schemas.length` of them.
 */
export function validateArgs(schemas: readonly StandardSchemaV1[], args: readonly unknown[], offset: number): Outcome | Promise<Outcome> {
  const count = args.length - offset;
  if (count > schemas.length) {
    return { issues: [{ message: `expected at most ${schemas.length} argument(s), got ${count}`, path: [schemas.length] }] };
  }
  const answers: Array<Answer | Promise<Answer>> = new Array(schemas.length);
  let async = false;
  for (let i = 0; i < schemas.length; i++) {
    let answer: Answer | Promise<Answer>;
    try {
      answer = schemas[i]["~standard"].validate(args[offset + i]);
    } catch (error) {
      return { error };
    }
    if (answer !== null && typeof answer === "object" && typeof (answer as Promise<Answer>).then === "function") async = true;
    answers[i] = answer;
  }
  if (!async) return combine(answers as Answer[]);
  return Promise.all(answers).then(combine, (error: unknown) => ({ error }));
}

function combine(answers: Answer[]): Outcome {
  let issues: PayloadIssue[] | null = null;
  const values: unknown[] = new Array(answers.length);
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i];
    if (answer === null || typeof answer !== "object") {
      return { error: new TypeError(`a schema's validate() returned ${answer === null ? "null" : typeof answer}, not a result`) };
    }
    if (answer.issues) {
      issues ??= [];
      for (const issue of answer.issues) {
        if (issues.length >= MAX_ISSUES) break;
        issues.push(safeIssue(i, issue));
      }
      if (issues.length === 0) issues.push({ message: "invalid", path: [i] });
    } else {
      values[i] = answer.value;
    }
  }
  return issues !== null ? { issues } : { values };
}

function safeIssue(index: number, issue: StandardSchemaV1.Issue): PayloadIssue {
  const text = typeof issue?.message === "string" ? issue.message : "invalid";
  const path: Array<string | number> = [index];
  const raw = issue?.path;
  if (raw) {
    for (let i = 0; i < raw.length && i < MAX_PATH; i++) {
      const segment = raw[i];
      const key = segment !== null && typeof segment === "object" ? (segment as StandardSchemaV1.PathSegment).key : segment;
      path.push(typeof key === "number" ? key : String(key).slice(0, MAX_MESSAGE));
    }
  }
  return { message: text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE - 3) + "..." : text, path };
}
