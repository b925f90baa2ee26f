export { startCpuMeter, cpuPer, cpuPerRole, processCpuSeconds, redisCpu, commandFamily, type CpuMeter, type CpuReport, type CpuSources } from './cpu-meter.ts';
