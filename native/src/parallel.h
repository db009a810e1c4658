// The one thread helper of the kernels: a fixed-size fork/join over a shared task counter.
#pragma once

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace crackdiff {

// Runs fn(task, worker) for every task in [0, tasks) on up to `workers` threads (worker < workers); a
// shared counter hands out the tasks, so a thread slowed by another process takes fewer of them.
template <class F>
void parallelFor(int tasks, int workers, F&& fn) {
  workers = std::max(1, std::min(workers, tasks));
  if (workers == 1) {
    for (int t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  std::atomic<int> next{0};
  auto loop = [&](int worker) {
    for (int t; (t = next.fetch_add(1)) < tasks;) fn(t, worker);
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int w = 1; w < workers; w++) pool.emplace_back(loop, w);
  loop(0);
  for (auto& thread : pool) thread.join();
}

}  // namespace crackdiff
