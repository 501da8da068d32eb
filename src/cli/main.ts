// Placeholder until the CLI lands: prints usage.
console.log('adbfleet: commands are being built');
