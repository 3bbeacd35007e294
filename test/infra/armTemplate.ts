/**
 * Just enough of ARM template semantics to check what a compiled Bicep template (bicep build --stdout) deploys,
 * without Azure: a parser for ARM template expressions ("[union(variables('a'), parameters('b'))]"), an evaluator
 * for the functions these templates use, nested deployments (Bicep modules) with their parameters, and a static
 * walk that lists the keys an object expression can have.
 *
 * What only exists at deployment time (reference() to a resource or module output) evaluates to an Opaque value
 * carrying a readable description; conditions must never depend on one (the evaluator throws), which is also
 * what keeps ARM's what-if precise. subscription(), tenant() and uniqueString() give fixed stand-ins, so resource
 * names are concrete.
 */
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * A value known only at deployment time (a reference() to a resource or module), described by `text`; or a
 * string built around such values (`partial`: `text` is the string, each unknown part shown as <description>).
 */
export class Opaque {
  constructor(
    readonly text: string,
    readonly partial = false,
  ) {}

  /** As it reads in a string: <description>, or the partial string itself. */
  display(): string {
    return this.partial ? this.text : `<${this.text}>`;
  }
}

export type Value = null | boolean | number | string | Opaque | Value[] | { [key: string]: Value };
export type ValueObject = { [key: string]: Value };

// ---------------------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------------------

export type Expr =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: Expr[] }
  | { kind: 'property'; target: Expr; name: string }
  | { kind: 'index'; target: Expr; index: Expr };

/** Whether a template string is an expression: "[...]", but not the escaped literal "[[...". */
export function isExpression(text: string): boolean {
  return text.startsWith('[') && !text.startsWith('[[') && text.endsWith(']');
}

type Token =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'name'; value: string }
  | { kind: 'punct'; value: '(' | ')' | '[' | ']' | ',' | '.' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated string in ${text}`);
        if (text.charAt(i) === "'") {
          if (text.charAt(i + 1) === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text.charAt(i);
        i++;
      }
      tokens.push({ kind: 'string', value });
    } else if (/[0-9-]/.test(c)) {
      const match = /^-?\d+(\.\d+)?/.exec(text.slice(i));
      if (!match) throw new Error(`bad number at ${i} in ${text}`);
      tokens.push({ kind: 'number', value: Number(match[0]) });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!match) throw new Error(`bad name at ${i} in ${text}`);
      tokens.push({ kind: 'name', value: match[0] });
      i += match[0].length;
    } else if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',' || c === '.') {
      tokens.push({ kind: 'punct', value: c });
      i++;
    } else {
      throw new Error(`unexpected ${c} at ${i} in ${text}`);
    }
  }
  return tokens;
}

/** Parses an expression string, with or without its enclosing brackets. */
export function parseExpression(text: string): Expr {
  const body = isExpression(text) ? text.slice(1, -1) : text;
  const tokens = tokenize(body);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const expectPunct = (value: string): void => {
    const token = tokens[position++];
    if (token?.kind !== 'punct' || token.value !== value) throw new Error(`expected ${value} in ${body}`);
  };
  const isPunct = (value: string): boolean => {
    const token = peek();
    return token?.kind === 'punct' && token.value === value;
  };

  function primary(): Expr {
    const token = tokens[position++];
    if (!token) throw new Error(`unexpected end of ${body}`);
    if (token.kind === 'string') return { kind: 'string', value: token.value };
    if (token.kind === 'number') return { kind: 'number', value: token.value };
    if (token.kind === 'name') {
      expectPunct('(');
      const args: Expr[] = [];
      if (!isPunct(')')) {
        args.push(expression());
        while (isPunct(',')) {
          position++;
          args.push(expression());
        }
      }
      expectPunct(')');
      return { kind: 'call', name: token.value, args };
    }
    throw new Error(`unexpected ${token.value} in ${body}`);
  }

  function expression(): Expr {
    let result = primary();
    for (;;) {
      if (isPunct('.')) {
        position++;
        const token = tokens[position++];
        if (token?.kind !== 'name') throw new Error(`expected a property name in ${body}`);
        result = { kind: 'property', target: result, name: token.value };
      } else if (isPunct('[')) {
        position++;
        const index = expression();
        expectPunct(']');
        result = { kind: 'index', target: result, index };
      } else {
        return result;
      }
    }
  }

  const result = expression();
  if (position !== tokens.length) throw new Error(`trailing input in ${body}`);
  return result;
}

/** The expression back as text (for messages and Opaque descriptions). */
export function renderExpression(expr: Expr): string {
  switch (expr.kind) {
    case 'string':
      return `'${expr.value.replace(/'/g, "''")}'`;
    case 'number':
      return String(expr.value);
    case 'call':
      return `${expr.name}(${expr.args.map(renderExpression).join(', ')})`;
    case 'property':
      return `${renderExpression(expr.target)}.${expr.name}`;
    case 'index':
      return `${renderExpression(expr.target)}[${renderExpression(expr.index)}]`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------

export function isObject(value: Value | Json | undefined): value is ValueObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Opaque);
}

function isJsonObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as text: strings as they are, numbers and booleans as JSON writes them, others as JSON. */
export function textOf(value: Value | Json | undefined): string {
  if (value === undefined) return '';
  return describe(value);
}

function describe(value: Value): string {
  if (value instanceof Opaque) return value.display();
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Opaque ? inner.display() : inner));
}

function containsOpaque(value: Value): boolean {
  if (value instanceof Opaque) return true;
  if (Array.isArray(value)) return value.some(containsOpaque);
  if (isObject(value)) return Object.values(value).some(containsOpaque);
  return false;
}

function deepEqual(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function asBoolean(value: Value, what: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new Error(`${what} must be a boolean known before deployment, got ${describe(value)}`);
}

/** Stand-ins for the deployment context: fixed, so names derived from them are stable. */
export const fakeContext = {
  subscriptionId: '00000000-0000-0000-0000-00000000a001',
  tenantId: '00000000-0000-0000-0000-00000000a002',
};

const publicCloud: ValueObject = {
  name: 'AzureCloud',
  suffixes: {
    storage: 'core.windows.net',
    keyvaultDns: '.vault.azure.net',
    sqlServerHostname: '.database.windows.net',
    acrLoginServer: '.azurecr.io',
  },
};

function fakeUniqueString(parts: Value[]): string {
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  for (let i = 0; i < 13; i++) out += alphabet.charAt((digest[i] ?? 0) % alphabet.length);
  return out;
}

function fakeGuid(parts: Value[]): string {
  const hex = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Templates and deployments
// ---------------------------------------------------------------------------------------------------------

/**
 * Where a nested template's parameter value comes from: a value, or a template value of the parent deployment.
 * `wrapped`: Bicep wrote the whole parameter object as one expression (`[if(c, createObject('value', a), ...)]`).
 */
type ParameterInput = { value: Value } | { json: Json; scope: TemplateScope; wrapped?: boolean };

export interface TemplateResource {
  /** The resource as written in the template (expressions unevaluated). */
  raw: JsonObject;
  type: string;
  /** The scope its expressions evaluate in. */
  scope: TemplateScope;
  /** The iteration, for a resource declared with a copy loop. */
  copyIndex?: number;
}

/** One template (the main one or a module's), with the values its parameters get. */
export class TemplateScope {
  private readonly parameterCache = new Map<string, Value>();
  private readonly variableCache = new Map<string, Value>();
  private currentCopyIndex: number | undefined;

  constructor(
    readonly template: JsonObject,
    private readonly inputs: Record<string, ParameterInput>,
    /** Module names from the main template down to this one ([] for the main template). */
    readonly path: readonly string[] = [],
  ) {}

  /** The main template deployed with these parameter values (the others take their defaults). */
  static main(template: JsonObject, parameters: Record<string, Value>): TemplateScope {
    const inputs: Record<string, ParameterInput> = {};
    for (const [name, value] of Object.entries(parameters)) inputs[name] = { value };
    return new TemplateScope(template, inputs);
  }

  get parameterDefinitions(): Record<string, JsonObject> {
    const definitions = this.template.parameters;
    if (!isJsonObject(definitions)) return {};
    const out: Record<string, JsonObject> = {};
    for (const [name, definition] of Object.entries(definitions)) if (isJsonObject(definition)) out[name] = definition;
    return out;
  }

  /** Where a parameter's value comes from, for the static walk; undefined when it takes its default. */
  parameterInput(name: string): ParameterInput | undefined {
    return this.inputs[name];
  }

  parameter(name: string): Value {
    const cached = this.parameterCache.get(name);
    if (cached !== undefined || this.parameterCache.has(name)) return cached ?? null;
    const definition = this.parameterDefinitions[name];
    if (!definition) throw new Error(`${this.where()}: no parameter ${name}`);
    const input = this.inputs[name];
    let value: Value;
    if (input && 'value' in input) value = input.value;
    else if (input?.wrapped) {
      const wrapper = input.scope.evaluate(input.json);
      if (!isObject(wrapper) || !('value' in wrapper)) throw new Error(`${this.where()}: parameter ${name} wrapper`);
      value = wrapper.value ?? null;
    } else if (input) value = input.scope.evaluate(input.json);
    else if ('defaultValue' in definition) value = this.evaluate(definition.defaultValue ?? null);
    else throw new Error(`${this.where()}: parameter ${name} has no value and no default`);
    this.parameterCache.set(name, value);
    return value;
  }

  variable(name: string): Value {
    if (this.variableCache.has(name)) return this.variableCache.get(name) ?? null;
    const variables = this.template.variables;
    if (!isJsonObject(variables) || !(name in variables)) throw new Error(`${this.where()}: no variable ${name}`);
    const value = this.evaluate(variables[name] ?? null);
    this.variableCache.set(name, value);
    return value;
  }

  rawVariable(name: string): Json {
    const variables = this.template.variables;
    if (!isJsonObject(variables) || !(name in variables)) throw new Error(`${this.where()}: no variable ${name}`);
    return variables[name] ?? null;
  }

  /** A template value: expressions evaluated, objects and arrays recursively. */
  evaluate(json: Json): Value {
    if (typeof json === 'string') {
      if (isExpression(json)) return this.evaluateExpression(parseExpression(json));
      return json.startsWith('[[') ? json.slice(1) : json;
    }
    if (Array.isArray(json)) return json.map((item) => this.evaluate(item));
    if (isJsonObject(json)) {
      const out: ValueObject = {};
      for (const [key, inner] of Object.entries(json)) out[this.evaluateKey(key)] = this.evaluate(inner);
      return out;
    }
    return json;
  }

  private evaluateKey(key: string): string {
    if (!isExpression(key)) return key;
    const value = this.evaluate(key);
    if (value instanceof Opaque) return value.display();
    if (typeof value !== 'string') throw new Error(`${this.where()}: object key ${key} is not a string`);
    return value;
  }

  /** The resources of this template (not of its modules), whatever the template's language version. */
  get resources(): TemplateResource[] {
    const resources = this.template.resources;
    const list = Array.isArray(resources) ? resources : isJsonObject(resources) ? Object.values(resources) : [];
    return list.filter(isJsonObject).map((raw) => ({ raw, type: textOf(raw.type), scope: this }));
  }

  /** A template value of one of this template's resources (copyIndex() is that resource's iteration). */
  evaluateFor(resource: TemplateResource, json: Json): Value {
    const saved = this.currentCopyIndex;
    this.currentCopyIndex = resource.copyIndex;
    try {
      return this.evaluate(json);
    } finally {
      this.currentCopyIndex = saved;
    }
  }

  /** Whether a resource of this template is deployed (its `condition`). */
  isDeployed(resource: TemplateResource): boolean {
    if (!('condition' in resource.raw)) return true;
    const condition = this.evaluateFor(resource, resource.raw.condition ?? null);
    return asBoolean(condition, `${this.where()}: condition of ${resource.type}`);
  }

  /** The resource, or one per iteration when it is declared with a copy loop. */
  private expand(resource: TemplateResource): TemplateResource[] {
    const copy = resource.raw.copy;
    if (!isJsonObject(copy)) return [resource];
    const count = this.evaluate(copy.count ?? null);
    if (typeof count !== 'number') throw new Error(`${this.where()}: copy count of ${resource.type} is not known`);
    return Array.from({ length: count }, (_, copyIndex) => ({ ...resource, copyIndex }));
  }

  /** The scope of a module (nested deployment) of this template. */
  moduleScope(resource: TemplateResource): TemplateScope {
    const properties = resource.raw.properties;
    if (!isJsonObject(properties) || !isJsonObject(properties.template)) {
      throw new Error(`${this.where()}: ${resource.type} is not a module with an inline template`);
    }
    const inputs: Record<string, ParameterInput> = {};
    const parameters = isJsonObject(properties.parameters) ? properties.parameters : {};
    for (const [name, definition] of Object.entries(parameters)) {
      if (typeof definition === 'string' && isExpression(definition)) {
        inputs[name] = { json: definition, scope: this, wrapped: true };
      } else if (isJsonObject(definition) && 'value' in definition) {
        inputs[name] = { json: definition.value ?? null, scope: this };
      } else {
        throw new Error(`${this.where()}: module parameter ${name} has no value`);
      }
    }
    return new TemplateScope(properties.template, inputs, [...this.path, textOf(resource.raw.name)]);
  }

  /** Every module of this template, deployed or not. */
  modules(): TemplateScope[] {
    return this.resources.filter(isModule).map((resource) => this.moduleScope(resource));
  }

  /** Every resource deployed by this template and its deployed modules (modules themselves excluded). */
  deployedResources(): TemplateResource[] {
    const out: TemplateResource[] = [];
    for (const resource of this.resources.flatMap((candidate) => this.expand(candidate))) {
      if (!this.isDeployed(resource)) continue;
      if (isModule(resource)) out.push(...this.moduleScope(resource).deployedResources());
      else out.push(resource);
    }
    return out;
  }

  /** The deployed module reached by these module names, or undefined when it is not deployed. */
  deployedModule(...names: string[]): TemplateScope | undefined {
    const [name, ...rest] = names;
    if (name === undefined) return this;
    const resource = this.resources.find((candidate) => isModule(candidate) && candidate.raw.name === name);
    if (!resource) throw new Error(`${this.where()}: no module ${name}`);
    if (!this.isDeployed(resource)) return undefined;
    return this.moduleScope(resource).deployedModule(...rest);
  }

  where(): string {
    return this.path.length ? `module ${this.path.join('/')}` : 'main template';
  }

  evaluateExpression(expr: Expr): Value {
    switch (expr.kind) {
      case 'string':
      case 'number':
        return expr.value;
      case 'property': {
        const target = this.evaluateExpression(expr.target);
        if (target instanceof Opaque) return new Opaque(`${target.text}.${expr.name}`);
        if (!isObject(target)) throw new Error(`${this.where()}: .${expr.name} of ${describe(target)}`);
        const found = Object.keys(target).find((key) => key.toLowerCase() === expr.name.toLowerCase());
        if (found === undefined) throw new Error(`${this.where()}: no property ${expr.name} in ${describe(target)}`);
        return target[found] ?? null;
      }
      case 'index': {
        const target = this.evaluateExpression(expr.target);
        const index = this.evaluateExpression(expr.index);
        if (target instanceof Opaque || index instanceof Opaque) return new Opaque(renderExpression(expr));
        if (Array.isArray(target) && typeof index === 'number') {
          if (index < 0 || index >= target.length) throw new Error(`${this.where()}: index ${index} out of range`);
          return target[index] ?? null;
        }
        if (isObject(target) && typeof index === 'string') return target[index] ?? null;
        throw new Error(`${this.where()}: cannot index ${describe(target)} with ${describe(index)}`);
      }
      case 'call':
        return this.call(expr);
    }
  }

  private call(expr: Extract<Expr, { kind: 'call' }>): Value {
    const name = expr.name.toLowerCase();
    // Lazy ones first: `if` evaluates only the branch chosen, as ARM does.
    if (name === 'if') {
      const [condition, whenTrue, whenFalse] = expr.args;
      if (!condition || !whenTrue || !whenFalse) throw new Error(`${this.where()}: if() needs three arguments`);
      const chosen = asBoolean(this.evaluateExpression(condition), `${this.where()}: ${renderExpression(condition)}`);
      return this.evaluateExpression(chosen ? whenTrue : whenFalse);
    }
    const args = expr.args.map((arg) => this.evaluateExpression(arg));
    const arg = (i: number): Value => {
      if (i >= args.length) throw new Error(`${this.where()}: ${expr.name}() needs ${i + 1} arguments`);
      return args[i] ?? null;
    };
    const opaqueResult = (): Opaque =>
      new Opaque(
        `${expr.name}(${args.map((value) => (value instanceof Opaque ? value.text : describe(value))).join(', ')})`,
      );
    switch (name) {
      case 'parameters':
        return this.parameter(textOf(arg(0)));
      case 'variables':
        return this.variable(textOf(arg(0)));
      case 'true':
        return true;
      case 'false':
        return false;
      case 'null':
        return null;
      case 'json': {
        const text = arg(0);
        if (typeof text !== 'string') return opaqueResult();
        return JSON.parse(text) as Value;
      }
      case 'createobject': {
        const out: ValueObject = {};
        for (let i = 0; i < args.length; i += 2) {
          const key = arg(i);
          if (typeof key !== 'string') throw new Error(`${this.where()}: createObject key ${describe(key)}`);
          out[key] = arg(i + 1);
        }
        return out;
      }
      case 'createarray':
        return [...args];
      case 'union': {
        if (args.some((value) => value instanceof Opaque)) return opaqueResult();
        if (args.every(isObject)) return Object.assign({}, ...args) as ValueObject;
        if (args.every(Array.isArray)) {
          const out: Value[] = [];
          for (const list of args as Value[][])
            for (const item of list) if (!out.some((x) => deepEqual(x, item))) out.push(item);
          return out;
        }
        throw new Error(`${this.where()}: union of mixed values`);
      }
      case 'concat': {
        if (args.some((value) => value instanceof Opaque)) return opaqueResult();
        if (args.every(Array.isArray)) return (args as Value[][]).flat();
        return args.map((value) => describe(value)).join('');
      }
      case 'format': {
        const template = arg(0);
        if (typeof template !== 'string') return opaqueResult();
        const rest = args.slice(1);
        if (!rest.some(containsOpaque)) {
          return template.replace(/\{(\d+)\}/g, (_match, i: string) => describe(rest[Number(i)] ?? null));
        }
        return new Opaque(
          template.replace(/\{(\d+)\}/g, (_match, i: string) => describe(rest[Number(i)] ?? null)),
          true,
        );
      }
      case 'equals': {
        if (containsOpaque(arg(0)) || containsOpaque(arg(1))) return opaqueResult();
        return deepEqual(arg(0), arg(1));
      }
      case 'not': {
        const value = arg(0);
        return value instanceof Opaque ? opaqueResult() : !asBoolean(value, `${this.where()}: not()`);
      }
      case 'and':
      case 'or': {
        if (args.some((value) => value instanceof Opaque)) return opaqueResult();
        const booleans = args.map((value) => asBoolean(value, `${this.where()}: ${name}()`));
        return name === 'and' ? booleans.every(Boolean) : booleans.some(Boolean);
      }
      case 'empty': {
        const value = arg(0);
        if (value instanceof Opaque) return opaqueResult();
        if (value === null || value === '') return true;
        if (Array.isArray(value)) return value.length === 0;
        if (isObject(value)) return Object.keys(value).length === 0;
        return false;
      }
      case 'string': {
        const value = arg(0);
        if (value instanceof Opaque) return opaqueResult();
        if (typeof value === 'boolean') return value ? 'True' : 'False';
        if (typeof value === 'string') return value;
        if (typeof value === 'number') return String(value);
        return JSON.stringify(value);
      }
      case 'tolower':
      case 'toupper': {
        const value = arg(0);
        if (typeof value !== 'string') return opaqueResult();
        return name === 'tolower' ? value.toLowerCase() : value.toUpperCase();
      }
      case 'split': {
        const [value, separator] = [arg(0), arg(1)];
        if (typeof value !== 'string' || typeof separator !== 'string') return opaqueResult();
        return value.split(separator);
      }
      case 'length': {
        const value = arg(0);
        if (typeof value === 'string' || Array.isArray(value)) return value.length;
        if (isObject(value)) return Object.keys(value).length;
        return opaqueResult();
      }
      case 'coalesce':
        return args.find((value) => value !== null) ?? null;
      case 'trygetvalue':
      case 'tryget': {
        const [target, key] = [arg(0), arg(1)];
        if (target instanceof Opaque) return opaqueResult();
        if (isObject(target) && typeof key === 'string') return target[key] ?? null;
        return null;
      }
      case 'items': {
        const value = arg(0);
        if (!isObject(value)) return opaqueResult();
        return Object.entries(value).map(([key, inner]) => ({ key, value: inner }));
      }
      case 'environment':
        return publicCloud;
      case 'subscription':
        return {
          id: `/subscriptions/${fakeContext.subscriptionId}`,
          subscriptionId: fakeContext.subscriptionId,
          tenantId: fakeContext.tenantId,
        };
      case 'tenant':
        return { tenantId: fakeContext.tenantId };
      case 'uniquestring':
        return args.some(containsOpaque) ? opaqueResult() : fakeUniqueString(args);
      case 'guid':
        return args.some(containsOpaque) ? opaqueResult() : fakeGuid(args);
      case 'copyindex': {
        if (this.currentCopyIndex === undefined) return opaqueResult();
        const offset = args.find((value) => typeof value === 'number');
        return this.currentCopyIndex + (typeof offset === 'number' ? offset : 0);
      }
      case 'subscriptionresourceid': {
        if (args.some(containsOpaque)) return opaqueResult();
        const parts = args.map((value) => describe(value));
        const withSubscription = parts[0]?.includes('/') ? [fakeContext.subscriptionId, ...parts] : parts;
        const [subscriptionId, type, ...names] = withSubscription;
        return `/subscriptions/${subscriptionId}/providers/${type}/${names.join('/')}`;
      }
      default:
        // reference(), resourceId(), resourceGroup(), deployment(), copyIndex()...: known only when deployed.
        return opaqueResult();
    }
  }
}

export function isModule(resource: TemplateResource): boolean {
  return resource.type.toLowerCase() === 'microsoft.resources/deployments';
}

// ---------------------------------------------------------------------------------------------------------
// Static walk: which keys an object expression can produce
// ---------------------------------------------------------------------------------------------------------

export interface KeyOrigin {
  /** Whether the key is set only under some condition (inside an if()). */
  conditional: boolean;
}

/**
 * The keys a template value (an object, or an expression building one with createObject/union/if, through
 * variables and module parameters) can have, without evaluating anything. Anything else throws, so a template
 * the walk cannot see through fails loudly instead of passing.
 */
export function objectKeys(json: Json, scope: TemplateScope): Map<string, KeyOrigin> {
  const out = new Map<string, KeyOrigin>();
  const add = (key: string, conditional: boolean): void => {
    const existing = out.get(key);
    out.set(key, { conditional: existing ? existing.conditional && conditional : conditional });
  };

  function walkJson(value: Json, at: TemplateScope, conditional: boolean): void {
    if (typeof value === 'string' && isExpression(value)) {
      walkExpr(parseExpression(value), at, conditional);
    } else if (isJsonObject(value)) {
      for (const key of Object.keys(value)) {
        if (isExpression(key)) throw new Error(`${at.where()}: computed key ${key}`);
        add(key, conditional);
      }
    } else {
      throw new Error(`${at.where()}: not an object: ${JSON.stringify(value)}`);
    }
  }

  function walkExpr(expr: Expr, at: TemplateScope, conditional: boolean): void {
    if (expr.kind !== 'call') throw new Error(`${at.where()}: cannot list the keys of ${renderExpression(expr)}`);
    const name = expr.name.toLowerCase();
    const literal = (i: number): string => {
      const arg = expr.args[i];
      if (arg?.kind !== 'string') throw new Error(`${at.where()}: ${renderExpression(expr)} needs a literal argument`);
      return arg.value;
    };
    switch (name) {
      case 'createobject':
        for (let i = 0; i < expr.args.length; i += 2) add(literal(i), conditional);
        return;
      case 'union':
        for (const arg of expr.args) walkExpr(arg, at, conditional);
        return;
      case 'if': {
        const [, whenTrue, whenFalse] = expr.args;
        if (!whenTrue || !whenFalse) throw new Error(`${at.where()}: if() needs three arguments`);
        walkExpr(whenTrue, at, true);
        walkExpr(whenFalse, at, true);
        return;
      }
      case 'variables':
        walkJson(at.rawVariable(literal(0)), at, conditional);
        return;
      case 'parameters': {
        const input = at.parameterInput(literal(0));
        if (!input || !('json' in input) || input.wrapped) {
          throw new Error(`${at.where()}: the keys of parameter ${literal(0)} are only known at deployment`);
        }
        walkJson(input.json, input.scope, conditional);
        return;
      }
      default:
        throw new Error(`${at.where()}: cannot list the keys of ${renderExpression(expr)}`);
    }
  }

  walkJson(json, scope, false);
  return out;
}
