export * from './keys.js'
export * from './replay-cache.js'
export * from './request-signature.js'
