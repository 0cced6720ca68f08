// solidity-coverage configuration (`npx hardhat coverage`).
// The contracts compile with viaIR and the optimizer on; with the full optimizer the coverage
// probes get deduplicated or removed and whole functions show as unhit although the tests run
// them. irMinimum compiles the instrumented sources with the Yul pipeline and an empty optimizer
// step sequence (stack allocation only), which keeps every probe.
module.exports = {
  irMinimum: true,
  skipFiles: ["interfaces/"],
};
