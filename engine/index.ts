export * from './identity.ts';
export * from './lifecycle.ts';
export * from './model.ts';
export * from './normalize.ts';
export * from './record.ts';
