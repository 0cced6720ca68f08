#!/usr/bin/env node
// A `solc` executable over the npm `solc` package (solc-js, the same compiler Hardhat uses here),
// for tools that want a native solc binary and would otherwise download one: forge
// (foundry.toml `solc = "scripts/solc-shim.js"`). Nothing is downloaded: the compiler is
// node_modules/solc/soljson.js.
//
// What forge 1.7 invokes (logged with SOLC_SHIM_LOG=<file>, which appends every call's argv):
//   solc --version                       -> two lines, the last "Version: <full version>"
//   solc --base-path <root> --include-path <lib>... --allow-paths <dir>... --standard-json
//                                        -> Standard JSON on stdin, Standard JSON on stdout
// Forge sends every source's content in the input; an import that is not in it is read from
// disk relative to --base-path and each --include-path (as native solc would), never elsewhere
// than under one of those or the --allow-paths directories.
"use strict";

const fs = require("fs");
const path = require("path");

const argv = process.argv.slice(2);

if (process.env.SOLC_SHIM_LOG) {
  fs.appendFileSync(process.env.SOLC_SHIM_LOG, `${new Date().toISOString()} ${JSON.stringify(argv)}\n`);
}

function fail(message, code = 1) {
  process.stderr.write(`solc-shim: ${message}\n`);
  process.exit(code);
}

/** Values of a path option given as `--opt value`, `--opt=value` or comma-separated (allow-paths). */
function optionValues(name) {
  const values = [];
  for (let i = 0; i < argv.length; ++i) {
    let value;
    if (argv[i] === name) value = argv[++i];
    else if (argv[i].startsWith(`${name}=`)) value = argv[i].slice(name.length + 1);
    if (value !== undefined) values.push(...value.split(",").filter(Boolean));
  }
  return values;
}

const KNOWN_FLAGS = new Set(["--version", "--standard-json", "--base-path", "--include-path", "--allow-paths"]);
for (let i = 0; i < argv.length; ++i) {
  const flag = argv[i].split("=")[0];
  if (!KNOWN_FLAGS.has(flag)) fail(`unsupported argument ${JSON.stringify(argv[i])} (only ${[...KNOWN_FLAGS].join(", ")})`, 2);
  if (["--base-path", "--include-path", "--allow-paths"].includes(argv[i])) ++i; // skip its value
}

const solc = require("solc");

if (argv.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!argv.includes("--standard-json")) fail("only --version and --standard-json are supported", 2);

const basePath = path.resolve(optionValues("--base-path")[0] ?? process.cwd());
const includePaths = optionValues("--include-path").map((p) => path.resolve(basePath, p));
const allowedRoots = [basePath, ...includePaths, ...optionValues("--allow-paths").map((p) => path.resolve(basePath, p))];

function isUnder(file, root) {
  const rel = path.relative(root, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** solc-js import callback: the file from the base path or an include path, inside the allowed roots. */
function findImport(importPath) {
  const candidates = path.isAbsolute(importPath)
    ? [importPath]
    : [basePath, ...includePaths].map((root) => path.resolve(root, importPath));
  for (const file of candidates) {
    if (!allowedRoots.some((root) => isUnder(file, root))) continue;
    try {
      return { contents: fs.readFileSync(file, "utf8") };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found inside the base path or any include path: ${importPath}` };
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const input = Buffer.concat(chunks).toString("utf8");
  const output = solc.compile(input, { import: findImport });
  process.stdout.write(output);
});
