{
  "targets": [
    {
      # The kernels, compiled for the CPU that builds them (npm install runs on the machine that trains):
      # AVX2 or AVX-512 on x86-64 as it has them. binding.cc checks at load that the CPU running them has
      # what they were compiled for.
      "target_name": "kernels",
      "type": "static_library",
      "sources": ["src/kernels.cc", "src/layout.cc", "src/norm.cc"],
      # -fno-trapping-math (nothing here enables floating-point traps) lets GCC turn a loop's selects into
      # blends on AVX2: with traps possible it left GroupNorm's backward scalar there, 10x slower.
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "-fPIC"],
      "cflags_cc!": ["-O2", "-std=gnu++17"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-fno-trapping-math"]},
      "conditions": [["target_arch=='x64' and OS!='win'", {
        "cflags_cc": ["-march=native"],
        "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-march=native"]}
      }]]
    },
    {
      "target_name": "crackdiff_native",
      "dependencies": ["kernels"],
      "sources": ["src/binding.cc"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "cflags_cc!": ["-std=gnu++17"]
    }
  ]
}
