#!/usr/bin/env node
// solc-shim.js — make solcjs (the wasm build shipped in the npm package `solc`)
// look like a native `solc` binary to Foundry.
//
// Why: this project's machines reach only package registries, so neither
// forge's built-in solc download (svm) nor a native solc release is available.
// The npm package `solc` embeds the official emscripten/wasm compiler, and
// forge accepts any executable as `solc` as long as it speaks the CLI subset
// forge uses:
//
//   solc --version
//       -> "solc, the solidity compiler commandline interface\nVersion: <full>"
//          (forge parses the last non-empty line, stripping "Version: ").
//   solc [--base-path P] [--include-path P]... [--allow-paths a,b] --standard-json [file]
//       -> Standard JSON input on stdin (or the file), Standard JSON output on stdout.
//
// Forge 1.7.1 was observed to call exactly `--version` and
// `--allow-paths <root>,<root>/contracts/lib --base-path <root> --standard-json`
// (it puts every source's content into the JSON itself, so the import callback
// is a fallback). Other native flags (--no-import-callback, --pretty-json,
// --json-indent, "--flag=value") are honoured; unknown flags are ignored
// rather than fatal so a forge upgrade that adds a harmless flag does not
// break the build. Set SOLC_SHIM_LOG=/some/file to log arguments and imports.
//
// The compiler input is passed through untouched: the shim never enables the
// optimizer, via-IR or anything else on its own. This matters because the wasm
// heap is capped at 2 GiB, and large contracts compiled with the optimizer or
// via-IR can exhaust it; that choice must stay with foundry.toml.
//
// Which compiler is loaded: $SOLC_SHIM_SOLC (a directory holding the `solc`
// npm package) if set, otherwise <repo>/.tools/npm/node_modules/solc as installed
// by scripts/setup.sh.
'use strict';

const fs = require('fs');
const path = require('path');

const argv = process.argv.slice(2);

function log(msg) {
  const file = process.env.SOLC_SHIM_LOG;
  if (!file) return;
  try {
    fs.appendFileSync(file, `[${new Date().toISOString()}] pid=${process.pid} cwd=${process.cwd()} ${msg}\n`);
  } catch (_) {
    // Logging is a debugging aid only; never let it break compilation.
  }
}

function die(msg, code = 1) {
  process.stderr.write(`solc-shim: ${msg}\n`);
  log(`error: ${msg}`);
  process.exit(code);
}

function loadSolc() {
  const dir = process.env.SOLC_SHIM_SOLC || path.resolve(__dirname, '..', '.tools', 'npm', 'node_modules', 'solc');
  try {
    return require(dir);
  } catch (e) {
    die(`cannot load the solc npm package from ${dir} (${e.message}); run scripts/setup.sh`);
  }
}

// ---------------------------------------------------------------- arguments --

// Flags of native solc that take a separate value; needed so that the value of
// an unknown-to-us-but-valued flag is not mistaken for an input file.
const VALUED = new Set([
  '--base-path', '--include-path', '--allow-paths', '--json-indent',
  '--evm-version', '--optimize-runs', '--output-dir', '-o', '--libraries',
  '--model-checker-engine', '--model-checker-targets', '--model-checker-timeout',
  '--revert-strings', '--debug-info', '--eof-version', '--stop-after',
]);

const opts = {
  version: false,
  standardJson: false,
  basePath: null,
  includePaths: [],
  allowPaths: [],
  importCallback: true,
  prettyJson: false,
  jsonIndent: null,
  files: [],
};

for (let i = 0; i < argv.length; i++) {
  let arg = argv[i];
  let value = null;
  // Accept both "--flag value" and "--flag=value".
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  if (eq > 0) {
    value = arg.slice(eq + 1);
    arg = arg.slice(0, eq);
  } else if (VALUED.has(arg)) {
    value = argv[++i];
    if (value === undefined) die(`option ${arg} needs a value`);
  }
  switch (arg) {
    case '--version':
      opts.version = true; break;
    case '--standard-json':
      opts.standardJson = true; break;
    case '--base-path':
      opts.basePath = value; break;
    case '--include-path':
      opts.includePaths.push(value); break;
    case '--allow-paths':
      // Native solc takes a comma-separated list.
      opts.allowPaths.push(...value.split(',').filter(Boolean)); break;
    case '--no-import-callback':
      opts.importCallback = false; break;
    case '--pretty-json':
      opts.prettyJson = true; break;
    case '--json-indent':
      opts.jsonIndent = Number(value); break;
    default:
      if (!arg.startsWith('-')) opts.files.push(arg);
      else log(`ignoring unsupported option ${arg}${value !== null ? `=${value}` : ''}`);
  }
}
log(`argv=${JSON.stringify(argv)}`);

// ------------------------------------------------------------------ version --

if (opts.version) {
  const solc = loadSolc();
  // solcjs reports e.g. "0.8.28+commit.7893614a.Emscripten.clang", which is
  // valid semver, so it is passed through verbatim: the build tag then says
  // truthfully that this is the wasm build.
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!opts.standardJson) {
  die('only --version and --standard-json are supported by this shim (it exists for forge)');
}

// ----------------------------------------------------------- import callback --

// Roots used to resolve a source unit name to a file, mirroring native solc:
// the base path (cwd when none is given) first, then every include path.
// Allow paths are only permissions in native solc; they are tried last as
// roots too, which is harmless and helps absolute-ish remapped names.
const cwd = process.cwd();
const abs = (p) => path.resolve(cwd, p);
const baseRoot = opts.basePath ? abs(opts.basePath) : cwd;
const lookupRoots = [baseRoot, ...opts.includePaths.map(abs), ...opts.allowPaths.map(abs)];
// Directories the compiler may read from. Native solc also allows the
// directories of files named on the command line.
const allowedRoots = [...new Set([
  baseRoot, ...opts.includePaths.map(abs), ...opts.allowPaths.map(abs),
  ...opts.files.map((f) => path.dirname(abs(f))),
])];

function realOrSelf(p) {
  try { return fs.realpathSync(p); } catch (_) { return p; }
}

function isAllowed(file) {
  // Check both the literal path and its symlink-resolved target, so a symlinked
  // lib directory inside an allowed root keeps working.
  const candidates = [path.resolve(file), realOrSelf(file)];
  return candidates.some((c) => allowedRoots.some((root) => {
    const rel = path.relative(realOrSelf(root), c);
    const relLiteral = path.relative(root, c);
    return [rel, relLiteral].some((r) => r === '' || (!r.startsWith('..') && !path.isAbsolute(r)));
  }));
}

function readCallback(sourceUnitName) {
  // Source unit names may carry a file:// prefix in hand-written inputs.
  const name = sourceUnitName.replace(/^file:\/\//, '');
  const candidates = path.isAbsolute(name)
    ? [name]
    : [...lookupRoots.map((r) => path.join(r, name)), path.join(cwd, name)];
  const tried = [];
  for (const file of candidates) {
    tried.push(file);
    let stat;
    try { stat = fs.statSync(file); } catch (_) { continue; }
    if (!stat.isFile()) continue;
    if (!isAllowed(file)) {
      log(`import denied ${sourceUnitName} -> ${file}`);
      return { error: `File outside of allowed directories: ${file}` };
    }
    log(`import ${sourceUnitName} -> ${file}`);
    return { contents: fs.readFileSync(file, 'utf8') };
  }
  log(`import not found ${sourceUnitName}; tried ${tried.join(', ')}`);
  return { error: `File not found. Searched the following locations: ${tried.map((t) => `"${t}"`).join(', ')}.` };
}

// -------------------------------------------------------------- compilation --

function readInput() {
  const file = opts.files[0];
  if (file && file !== '-') return Promise.resolve(fs.readFileSync(abs(file), 'utf8'));
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

readInput().then((input) => {
  const solc = loadSolc();
  const started = Date.now();
  let output;
  try {
    output = opts.importCallback
      ? solc.compile(input, { import: readCallback })
      : solc.compile(input);
  } catch (e) {
    // The wasm heap is capped at 2 GiB; when it is exhausted emscripten aborts
    // with an "OOM"/"Cannot enlarge memory" error. Point at the usual cause.
    const msg = String((e && (e.stack || e.message)) || e);
    const oom = /OOM|out of memory|Cannot enlarge memory|could not allocate|RangeError: .*memory/i.test(msg);
    die(`compiler crashed: ${msg}` + (oom
      ? '\nThe solcjs wasm heap (max 2 GiB) is exhausted. Compile fewer/smaller contracts at once, '
        + 'or disable optimizer/via_ir for this build.'
      : ''));
  }
  log(`compiled in ${Date.now() - started} ms, ${output.length} bytes of output`);
  // Usually the wasm heap running out does not crash: solc catches it and
  // reports "Unknown exception during compilation: ... std::bad_alloc" as a
  // normal JSON error (seen with via-IR + optimizer on large assembly-heavy
  // contracts). That text says nothing about the cause, so append a hint to
  // just those errors; the rest of the output is left byte-for-byte intact.
  const hint = 'solc-shim: the solcjs (wasm) compiler ran out of memory (its heap is capped at 2 GiB). '
    + 'Disable via_ir and/or the optimizer for this contract, or compile it on its own.';
  let parsed = null;
  if (output.includes('std::bad_alloc')) {
    parsed = JSON.parse(output);
    for (const err of parsed.errors || []) {
      if (/bad_alloc/.test(err.message || '')) {
        err.message = `${err.message}\n${hint}`;
        if (err.formattedMessage) err.formattedMessage = `${err.formattedMessage}\n${hint}\n`;
      }
    }
    process.stderr.write(`${hint}\n`);
  }
  if (parsed || opts.prettyJson || opts.jsonIndent !== null) {
    parsed = parsed || JSON.parse(output);
    const indent = opts.prettyJson || opts.jsonIndent !== null ? (opts.jsonIndent ?? 2) : undefined;
    output = JSON.stringify(parsed, null, indent);
  }
  // Let Node flush stdout on its own instead of process.exit(), so large
  // outputs are never truncated when stdout is a pipe.
  process.stdout.write(output);
  process.exitCode = 0;
}, (e) => die(`cannot read the standard JSON input: ${e.message}`));
