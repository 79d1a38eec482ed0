#!/usr/bin/env node
// Placeholder until the bulk job and sandbox land: proves `npm start` runs.
console.log("wechatpay-stores: the bulk disassociation CLI is under construction.")
