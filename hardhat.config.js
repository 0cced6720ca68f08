// Hardhat 2 (CommonJS). The Solidity compiler is the npm `solc` package (solc-js), wired in by
// overriding TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD: the compiler download site is not reachable
// and nothing may be downloaded at build time.
require("@nomicfoundation/hardhat-chai-matchers");
require("@nomicfoundation/hardhat-ethers");
require("solidity-coverage");

const path = require("path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = require("solc/package.json").version; // pinned in package.json

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    throw new Error(
      `hardhat.config.js asks for solc ${args.solcVersion} but the npm solc package is ${SOLC_VERSION}`
    );
  }
  const compilerPath = path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js");
  return { compilerPath, isSolcJs: true, version: SOLC_VERSION, longVersion: SOLC_VERSION };
});

module.exports = {
  // Optimised for size (runs 1): the LearningLedger is close to the 24 kB code size limit
  // (EIP-170). One setting for every contract keeps them in one compilation, so a static
  // analyser sees each part of the ledger with the whole of it.
  solidity: {
    compilers: [
      {
        version: SOLC_VERSION,
        settings: {
          optimizer: { enabled: true, runs: 1 },
          viaIR: true,
          evmVersion: "cancun",
        },
      },
    ],
  },
  paths: {
    sources: "contracts",
    tests: "tests/contracts",
    cache: "build/hardhat-cache",
    artifacts: "build/artifacts",
  },
  networks: {
    hardhat: { hardfork: "cancun" },
  },
  mocha: { timeout: 120000 },
};
