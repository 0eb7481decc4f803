// device.cu -- CUDA device discovery for the GPU backend.
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" int hd_cuda_probe_devices(void)
{
    int n = 0;
    // A missing driver or no device is not an error: the CPU backend is used instead.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

// "NVIDIA H200" for device i, or "" when it cannot be queried.
extern "C" void hd_cuda_device_name(int i, char *buf, size_t n)
{
    cudaDeviceProp prop;
    if (n) buf[0] = 0;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
        cudaGetLastError();
        return;
    }
    snprintf(buf, n, "%s", prop.name);
}
