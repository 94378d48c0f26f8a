export { DATA_VALIDATE_STEP_TYPE, createDataValidateExecutor, dataValidateExecutorModule } from './executor';
export * from './schema';
export * from './validate';
