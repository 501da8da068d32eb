#!/usr/bin/env node
// The compiled CLI (npm's `prepare` builds dist/ on install).
import '../dist/cli/main.js';
