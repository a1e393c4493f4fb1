// Checks of the arguments and per-call options of the client's methods, made before anything
// crosses into Rust: the binding's own conversion errors ("Failed to get Array length") say
// nothing a user can act on. Each failure is a TypeError that names the argument and its shape.

/** How a value reads in a message: its kind, never its content (it may be a token). */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** `undefined`/`null` or an array of strings; else a TypeError naming the option. */
export function checkStringList(value: unknown, name: string): void {
  if (value === undefined || value === null || isStringArray(value)) return;
  const got = Array.isArray(value) ? 'an array with a non-string item' : kindOf(value);
  throw new TypeError(`${name} must be string[] (an array of strings), got ${got}`);
}

function checkOptionalString(value: unknown, name: string): void {
  if (value === undefined || value === null || typeof value === 'string') return;
  throw new TypeError(`${name} must be a string, got ${kindOf(value)}`);
}

const BINDINGS = ['when_present', 'required', 'dangerously_ignore'];

interface CallOptionRules {
  /** Whether the method takes `validateCertificateBinding` and `jwks`. */
  binding?: boolean;
}

/**
 * The options object of `validateAccessToken`, `validateJwtAccessToken` or
 * `introspectAccessToken`: `scopes` and `groups` are string arrays, `clientCertificate` a string,
 * `validateCertificateBinding` one of its three values. Other members are left alone, as the
 * original leaves them.
 */
export function checkCallOptions(options: unknown, method: string, rules: CallOptionRules = {}): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${method}(token, options): options must be an object, got ${kindOf(options)}`);
  }
  const given = options as Record<string, unknown>;
  checkStringList(given.scopes, `${method}(token, options): options.scopes`);
  checkStringList(given.groups, `${method}(token, options): options.groups`);
  checkOptionalString(given.clientCertificate, `${method}(token, options): options.clientCertificate`);
  if (rules.binding) {
    const binding = given.validateCertificateBinding;
    if (binding !== undefined && binding !== null && !BINDINGS.includes(binding as string)) {
      throw new TypeError(
        `${method}(token, options): options.validateCertificateBinding must be one of ` +
          `${BINDINGS.map((value) => `'${value}'`).join(', ')}, got ${kindOf(binding)}`,
      );
    }
  }
}

/** A finite number argument; else a TypeError naming it. */
export function checkNumberArgument(value: unknown, name: string): void {
  if (typeof value === 'number' && Number.isFinite(value)) return;
  throw new TypeError(`${name} must be a finite number, got ${kindOf(value)}`);
}

/** A boolean argument; `undefined` counts as its default. */
export function checkBooleanArgument(value: unknown, name: string): void {
  if (value === undefined || typeof value === 'boolean') return;
  throw new TypeError(`${name} must be a boolean, got ${kindOf(value)}`);
}
