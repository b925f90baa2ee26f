export { startCpuMeter, cpuPer, processCpuSeconds, redisCpu, commandFamily, type CpuMeter, type CpuReport, type CpuSources } from './cpu-meter.ts';
