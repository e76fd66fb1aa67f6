export * from './identity.ts';
export * from './model.ts';
export * from './normalize.ts';
export * from './record.ts';
