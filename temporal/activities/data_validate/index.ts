export { DATA_VALIDATE_STEP_TYPE, createDataValidateExecutor, dataValidateExecutorModule } from './data_validate.executor';
export * from './schema';
export * from './validate';
