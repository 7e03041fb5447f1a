// Finds every REST call the UI source makes, by method and path template, with the TypeScript
// parser: calls of the api/client.ts helpers (apiGet/apiPost/apiPatch/apiDelete/apiRequest/apiUrl),
// uploadFile and `new EventSource`, with local path helpers (`vmPath(id)`) inlined. Also says which
// of the functions holding a call no other UI code uses, so an unused api function covers nothing.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface UiCall {
  method: string;
  /** Absolute path with `{}` for every dynamic part, query string removed (e.g. /api/v1/vms/{}/start). */
  path: string;
  /** file:line of the call. */
  at: string;
  /** The top-level declaration holding the call (e.g. startVm), '' for top-level code. */
  owner: string;
  /** Whether some UI code other than the declaration itself uses `owner`. */
  used: boolean;
}

const HELPERS: Record<string, string | undefined> = {
  apiGet: 'GET',
  apiPost: 'POST',
  apiPatch: 'PATCH',
  apiDelete: 'DELETE',
  apiUrl: 'GET',
  uploadFile: 'POST',
};

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Top-level `const x = <string>` and `const f = (…) => <string>` of a file, by name. */
function localStrings(sf: ts.SourceFile): Map<string, ts.Expression> {
  const m = new Map<string, ts.Expression>();
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || !d.initializer) continue;
      const init = d.initializer;
      if (ts.isArrowFunction(init) && !ts.isBlock(init.body)) m.set(d.name.text, init.body);
      else if (ts.isStringLiteralLike(init) || ts.isTemplateExpression(init)) m.set(d.name.text, init);
    }
  }
  return m;
}

/** The path an expression builds, `{}` for parts known only at run time; undefined if it is a parameter. */
function evalPath(e: ts.Expression, locals: Map<string, ts.Expression>, depth = 0): string | undefined {
  if (depth > 8) return '{}';
  if (ts.isParenthesizedExpression(e)) return evalPath(e.expression, locals, depth + 1);
  if (ts.isStringLiteralLike(e)) return e.text;
  if (ts.isTemplateExpression(e)) {
    let s = e.head.text;
    for (const span of e.templateSpans) s += evalPart(span.expression, locals, depth) + span.literal.text;
    return s;
  }
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return `${evalPart(e.left, locals, depth)}${evalPart(e.right, locals, depth)}`;
  }
  if (ts.isIdentifier(e) && locals.has(e.text)) return evalPath(locals.get(e.text)!, locals, depth + 1);
  if (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && locals.has(e.expression.text)) {
    return evalPath(locals.get(e.expression.text)!, locals, depth + 1);
  }
  return undefined;
}

function evalPart(e: ts.Expression, locals: Map<string, ts.Expression>, depth: number): string {
  return evalPath(e, locals, depth + 1) ?? '{}';
}

function topLevelName(node: ts.Node): string {
  let n: ts.Node = node;
  while (n.parent && !ts.isSourceFile(n.parent)) n = n.parent;
  if (ts.isVariableStatement(n)) {
    const d = n.declarationList.declarations[0];
    return ts.isIdentifier(d.name) ? d.name.text : '';
  }
  if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n)) && n.name) return n.name.text;
  return '';
}

/** Every API call in ui/src (tests excluded). Calls whose path is a function parameter (wrappers) are skipped. */
export async function findUiCalls(uiSrc: string): Promise<UiCall[]> {
  const files = await sourceFiles(uiSrc);
  const texts = new Map<string, string>();
  const calls: (Omit<UiCall, 'used'> & { file: string })[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    texts.set(file, text);
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const locals = localStrings(sf);
    const visit = (node: ts.Node): void => {
      let method: string | undefined;
      let pathArg: ts.Expression | undefined;
      let prefix = '/api/v1';
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
        const name = node.expression.text;
        if (name === 'apiRequest' && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
          method = node.arguments[0].text;
          pathArg = node.arguments[1];
        } else if (HELPERS[name]) {
          method = HELPERS[name];
          pathArg = node.arguments[0];
        }
      } else if (
        ts.isNewExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'EventSource'
      ) {
        method = 'GET';
        pathArg = node.arguments?.[0];
        prefix = '';
      }
      if (method && pathArg) {
        const path = evalPath(pathArg, locals);
        if (path !== undefined) {
          const line = sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          calls.push({
            method,
            path: prefix + path.replace(/\?.*$/, ''),
            at: `${relative(uiSrc, file)}:${line}`,
            owner: topLevelName(node),
            file,
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  // Used = named in another file, or in its own file more often than its declaration names it.
  const count = (name: string, t: string) => t.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
  const usedElsewhere = (name: string, file: string) =>
    [...texts].some(([f, t]) => (f === file ? count(name, t) > 1 : count(name, t) > 0));
  return calls.map(({ file, ...c }) => ({ ...c, used: c.owner !== '' && usedElsewhere(c.owner, file) }));
}

/** Whether a UI path (`{}` for dynamic parts) is a call of the operation path (`:param` segments). */
export function pathMatches(uiPath: string, opPath: string): boolean {
  const u = uiPath.split('/');
  const o = opPath.split('/');
  if (u.length !== o.length) return false;
  return o.every((seg, i) => (seg.startsWith(':') ? u[i] !== '' : seg === u[i]));
}
